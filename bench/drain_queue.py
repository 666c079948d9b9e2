"""Many queued runs drained by several agents: throughput, and that every run ran
exactly once.

Run it with the interpreter of the environment to measure, against an empty PostgreSQL
database of its own (SQLite works too, with one machine's worth of agents):

    SHIPWAY_DATABASE_URL=postgresql://... .venv/bin/python bench/drain_queue.py \\
        [--runs 10000] [--agents 4] [--limit 8]

It creates ``--runs`` runs of one deployment (before any agent starts: they are queued),
then starts ``--agents`` ``shipway agent start --limit LIMIT`` processes at once and
waits until every run is final. Each run is the process infrastructure running a shell
command that appends the run's job (with its flow run id) to one file, so that the
benchmark measures the agents and the store, not Python start-up. Then it checks:

- every run is Completed, after exactly one attempt;
- the file holds each run's id exactly once (no run ran twice, none was lost);
- every run's history is Scheduled, Pending, Running, Completed (one claim each).

It prints the drain time (first agent started to last run ended, from the store's
``end_time``), the throughput in runs per second, and how the runs spread over agents.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from _timing import child_environment

from shipway.states import StateType
from shipway.store import DeploymentSpec, Store, mask_url, open_store

DEPLOYMENT = "bench-drain"
EXPECTED_HISTORY = [StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING,
                    StateType.COMPLETED]


def apply(store: Store, ledger: Path) -> None:
    script = f'printf "%s\\n" "$SHIPWAY_FLOW_RUN" >> {ledger}'
    store.apply_deployment(
        DeploymentSpec(
            name=DEPLOYMENT,
            entrypoint="flows/none.py:none",
            flow_name="none",
            working_dir=str(ledger.parent),
            parameters={},
            infrastructure={"type": "process", "command": ["sh", "-c", script]},
            work_queue=DEPLOYMENT,
        )
    )


def start_agents(
    count: int, limit: int, env: dict[str, str], logs: Path
) -> list[subprocess.Popen[bytes]]:
    agents = []
    for n in range(count):
        with (logs / f"agent-{n}.log").open("wb") as log:
            agents.append(subprocess.Popen(
                [sys.executable, "-c", "from shipway.cli import main; main()", "agent", "start",
                 "-q", DEPLOYMENT, "--limit", str(limit), "--name", f"drain-{n}"],
                env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            ))
    return agents


def wait_drained(store: Store, runs: int, agents: list[subprocess.Popen[bytes]]) -> None:
    final = [StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED]
    deadline = time.monotonic() + 3600
    while store.count_flow_runs(deployment=DEPLOYMENT, states=final) < runs:
        if any(agent.poll() is not None for agent in agents):
            sys.exit("an agent stopped before the queue was drained (see its log)")
        if time.monotonic() > deadline:
            sys.exit("the queue was not drained within an hour")
        time.sleep(1.0)


def check_exactly_once(store: Store, ids: list[str], ledger: Path) -> collections.Counter[str]:
    ran = collections.Counter(
        json.loads(line)["flow_run_id"] for line in ledger.read_text().splitlines()
    )
    twice = [run_id for run_id, times in ran.items() if times > 1]
    missing = set(ids) - set(ran)
    if twice or missing:
        sys.exit(f"NOT exactly once: {len(twice)} run(s) ran twice, {len(missing)} never ran")
    by_agent: collections.Counter[str] = collections.Counter()
    names = {agent.id: agent.name for agent in store.list_agents()}
    for run_id in ids:
        record = store.get_flow_run(run_id)
        if record.state is not StateType.COMPLETED or record.attempt != 1:
            sys.exit(f"flow run {run_id} is {record.state.value} after attempt {record.attempt}")
        history = [state.type for state in store.state_history(run_id)]
        if history != EXPECTED_HISTORY:
            sys.exit(f"flow run {run_id} went through {history}")
        by_agent[names.get(record.agent_id or "", "?")] += 1
    return by_agent


def main() -> int:
    parser = argparse.ArgumentParser(description="Drain a queue of runs with several agents.")
    parser.add_argument("--runs", type=int, default=10_000, help="(default: 10000)")
    parser.add_argument("--agents", type=int, default=4, help="(default: 4)")
    parser.add_argument("--limit", type=int, default=8, help="runs per agent at once (default: 8)")
    args = parser.parse_args()
    if min(args.runs, args.agents, args.limit) < 1:
        parser.error("--runs, --agents and --limit must be at least 1")

    with tempfile.TemporaryDirectory(prefix="shipway-bench-") as temporary:
        root = Path(temporary)
        env = child_environment()
        env["SHIPWAY_HOME"] = str(root / "home")
        url = os.environ.get("SHIPWAY_DATABASE_URL") or f"sqlite:///{root / 'home' / 'shipway.db'}"
        env["SHIPWAY_DATABASE_URL"] = url
        os.environ["SHIPWAY_HOME"] = env["SHIPWAY_HOME"]
        store = open_store(url)
        try:
            if store.count_flow_runs(deployment=DEPLOYMENT):
                sys.exit(f"the store at {store.url} has runs of {DEPLOYMENT} already: "
                         "give the benchmark an empty database")
            ledger = root / "ran.jsonl"
            ledger.touch()
            apply(store, ledger)
            queued = time.perf_counter()
            ids = [store.create_flow_run(DEPLOYMENT).id for _ in range(args.runs)]
            queued = time.perf_counter() - queued
            (root / "logs").mkdir()
            started = datetime.now(timezone.utc)
            agents = start_agents(args.agents, args.limit, env, root / "logs")
            try:
                wait_drained(store, args.runs, agents)
            finally:
                for agent in agents:
                    agent.terminate()
                for agent in agents:
                    agent.wait(60)
            last_end = max(
                record.end_time
                for record in store.list_flow_runs(deployment=DEPLOYMENT, limit=args.runs)
                if record.end_time is not None
            )
            by_agent = check_exactly_once(store, ids, ledger)
        finally:
            store.close()

    drained = (last_end - started).total_seconds()
    print(f"interpreter: {sys.executable} (Python {sys.version.split()[0]})")
    print(f"store: {mask_url(url)}")
    print(f"{args.runs} queued runs (created in {queued:.0f} s), {args.agents} agents "
          f"with --limit {args.limit}; each run a shell command on the process infrastructure")
    print()
    print(f"{'drained in':<28} {drained:8.1f} s")
    print(f"{'throughput':<28} {args.runs / drained:8.1f} runs/s")
    print(f"{'exactly once':<28} yes: every run Completed after one attempt, ran once, "
          "claimed once")
    print(f"{'runs per agent':<28} " + ", ".join(f"{n}: {c}" for n, c in sorted(by_agent.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
