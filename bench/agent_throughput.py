"""Throughput and submit-to-start latency of ``shipway agent start``, against a plain loop.

Run it with the interpreter of the environment to measure:

    .venv/bin/python bench/agent_throughput.py [--runs 100] [--concurrency 8]

The same trivial flow runs ``--runs`` times, ``--concurrency`` at a time, three ways
(each agent measurement with a fresh store: SQLite under a temporary SHIPWAY_HOME, or
the database in SHIPWAY_DATABASE_URL when set):

- plain loop: this script submits the runs itself with the ``process`` infrastructure
  (``Process().run(job)``, output collected in memory), from an anyio task group
  limited to ``--concurrency`` runs: the baseline the aim compares with;
- agent: one ``shipway agent start --limit CONCURRENCY --poll-interval 0.2``, already
  running; the runs are created in the store one after the other, and the time is
  from before the first creation to the last run's final state (its ``end_time``);
- bare engine processes (a reference, not an aim): ``python -m shipway.engine`` with the
  job hand-over, from a thread pool: what starting the interpreters alone costs.

The three alternate for ``--rounds`` rounds (so a burst of background load hits all of
them alike) and the medians are compared. Then the latency: ``--latency-samples`` runs
created one at a time, a little apart, while an agent polls every 0.2 s;
submit-to-start is the run's creation to its Running state (both times from the store).

Aims: agent throughput >= 0.7x the plain loop's; median latency < 0.5 s.
The aims are reported, not enforced: the script exits 0 either way.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import anyio
from _timing import child_environment

from shipway.infrastructure import StreamName, output_sink
from shipway.jobs import JOB_ENV_VAR, Job
from shipway.states import StateType
from shipway.store import DeploymentSpec, Store, mask_url, open_store
from shipway_process import Process

THROUGHPUT_AIM = 0.7
LATENCY_AIM_SECONDS = 0.5
POLL_INTERVAL = "0.2"
ENTRYPOINT = "flows/trivial.py:trivial"
FLOW = """
from shipway import flow

@flow
def trivial(n: int = 0) -> int:
    print(f"run {n}", flush=True)
    return n
"""
FINAL = [StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED]


def write_project(directory: Path) -> Path:
    (directory / "flows").mkdir(parents=True)
    (directory / "flows" / "trivial.py").write_text(textwrap.dedent(FLOW))
    return directory


def job_for(project: Path, n: int) -> Job:
    return Job(entrypoint=ENTRYPOINT, parameters={"n": n}, working_dir=str(project))


class CollectedOutput:
    """Keeps the runs' output lines, as an agent's log buffer does before writing them."""

    def __init__(self) -> None:
        self.lines: list[tuple[StreamName, bytes]] = []

    def write(self, stream: StreamName, data: bytes) -> None:
        self.lines.append((stream, data))


def plain_loop(project: Path, runs: int, concurrency: int) -> float:
    """Seconds for ``runs`` runs on the process infrastructure, ``concurrency`` at a time."""
    infrastructure = Process()
    output = CollectedOutput()

    async def one(n: int, limiter: anyio.CapacityLimiter) -> None:
        async with limiter:
            result = await infrastructure.run(job_for(project, n))
        if result.status_code != 0:
            sys.exit(f"run {n} exited {result.status_code}: {result.describe()}")

    async def all_runs() -> None:
        limiter = anyio.CapacityLimiter(concurrency)
        with output_sink(output):
            async with anyio.create_task_group() as tg:
                for n in range(runs):
                    tg.start_soon(one, n, limiter)

    started = time.perf_counter()
    anyio.run(all_runs)
    elapsed = time.perf_counter() - started
    if sum(1 for stream, _ in output.lines if stream == "stdout") < runs:
        sys.exit("the plain loop lost output lines")
    return elapsed


def bare_engines(project: Path, runs: int, concurrency: int) -> float:
    """Seconds for ``runs`` engine processes, ``concurrency`` at a time: the floor."""
    env = child_environment()

    def one(n: int) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "shipway.engine"],
            cwd=project,
            env={**env, JOB_ENV_VAR: job_for(project, n).to_json(), "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            sys.exit(f"the engine exited {result.returncode}:\n{result.stderr.decode()}")

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(runs)))
    return time.perf_counter() - started


@contextmanager
def fresh_store(root: Path, label: str) -> Iterator[tuple[Store, dict[str, str]]]:
    home = root / f"home-{label}"
    home.mkdir()
    env = child_environment()
    env["SHIPWAY_HOME"] = str(home)
    url = os.environ.get("SHIPWAY_DATABASE_URL") or f"sqlite:///{home / 'shipway.db'}"
    env["SHIPWAY_DATABASE_URL"] = url
    store = open_store(url)
    try:
        yield store, env
    finally:
        store.close()


def apply(
    store: Store,
    project: Path,
    name: str,
    entrypoint: str = ENTRYPOINT,
    flow_name: str = "trivial",
    work_queue: str | None = None,
) -> None:
    store.apply_deployment(
        DeploymentSpec(
            name=name,
            entrypoint=entrypoint,
            flow_name=flow_name,
            working_dir=str(project),
            parameters={},
            infrastructure={"type": "process"},
            work_queue=work_queue or name,
        )
    )


@contextmanager
def running_agent(
    env: dict[str, str], queue: str, limit: int, log: Path, poll_interval: str = POLL_INTERVAL
) -> Iterator[None]:
    with log.open("wb") as output:
        agent = subprocess.Popen(
            [sys.executable, "-c", "from shipway.cli import main; main()", "agent", "start",
             "-q", queue, "--limit", str(limit), "--poll-interval", poll_interval],
            env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while "polling" not in log.read_text(errors="replace"):
                if agent.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"the agent did not start:\n{log.read_text(errors='replace')}")
                time.sleep(0.05)
            yield
        finally:
            agent.terminate()
            agent.wait(60)


def wait_final(store: Store, run_ids: list[str]) -> datetime:
    """Wait until every run is final (all Completed, or the benchmark stops); return
    when the last one ended. Polled slowly: the end time comes from the store, which is
    fresh, so the final runs it counts are these."""
    deadline = time.monotonic() + 600
    while (finished := store.count_flow_runs(states=FINAL)) < len(run_ids):
        if time.monotonic() > deadline:
            sys.exit(f"{len(run_ids) - finished} run(s) never finished")
        time.sleep(0.5)
    ends = []
    for run_id in run_ids:
        record = store.get_flow_run(run_id)
        if record.state is not StateType.COMPLETED or record.end_time is None:
            sys.exit(f"flow run {run_id} ended {record.state}: {record.state_message}")
        ends.append(record.end_time)
    return max(ends)


def agent_throughput(
    root: Path, project: Path, runs: int, concurrency: int, round_number: int
) -> float:
    label = f"throughput-{round_number}"
    with fresh_store(root, label) as (store, env):
        apply(store, project, "bench-throughput")
        with running_agent(env, "bench-throughput", concurrency, root / f"{label}.log"):
            started = datetime.now(timezone.utc)
            ids = [store.create_flow_run("bench-throughput", parameters={"n": n}).id
                   for n in range(runs)]
            ended = wait_final(store, ids)
            return (ended - started).total_seconds()


def latencies(root: Path, project: Path, samples: int, concurrency: int) -> list[float]:
    with fresh_store(root, "latency") as (store, env):
        apply(store, project, "bench-latency")
        with running_agent(env, "bench-latency", concurrency, root / "latency.log"):
            ids = []
            for n in range(samples):
                ids.append(store.create_flow_run("bench-latency", parameters={"n": n}).id)
                time.sleep(0.37)  # not a multiple of the poll interval: sample its phase
            wait_final(store, ids)
        seconds = []
        for run_id in ids:
            record = store.get_flow_run(run_id)
            running = next(s for s in store.state_history(run_id)
                           if s.type is StateType.RUNNING)
            seconds.append((running.timestamp - record.created).total_seconds())
        return seconds


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def throughput_line(label: str, seconds: list[float], runs: int) -> str:
    median = statistics.median(seconds)
    rounds = ", ".join(f"{s:.2f}" for s in seconds)
    return f"{label:<36} {median:7.2f} s  {runs / median:6.1f} runs/s   (rounds: {rounds})"


def main() -> int:
    parser = argparse.ArgumentParser(description="Time an agent against a plain loop.")
    parser.add_argument("--runs", type=int, default=100, help="flow runs (default: 100)")
    parser.add_argument("--concurrency", type=int, default=8, help="at once (default: 8)")
    parser.add_argument("--latency-samples", type=int, default=30,
                        help="runs for the latency figure (default: 30)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds of each way; medians kept (default: 3)")
    args = parser.parse_args()
    if min(args.runs, args.concurrency, args.latency_samples, args.rounds) < 1:
        parser.error("--runs, --concurrency, --latency-samples and --rounds must be at least 1")

    # Every child (the plain loop's runs too) may cache bytecode, as after a pip install.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory(prefix="shipway-bench-") as temporary:
        root = Path(temporary)
        os.environ["SHIPWAY_HOME"] = str(root / "home-plain-loop")  # the plugin's run files
        project = write_project(root / "project")
        plain_loop(project, args.concurrency, args.concurrency)  # warm caches and bytecode
        plains: list[float] = []
        agents: list[float] = []
        bares: list[float] = []
        for round_number in range(args.rounds):
            plains.append(plain_loop(project, args.runs, args.concurrency))
            agents.append(
                agent_throughput(root, project, args.runs, args.concurrency, round_number)
            )
            bares.append(bare_engines(project, args.runs, args.concurrency))
        waits = latencies(root, project, args.latency_samples, args.concurrency)

    store = mask_url(os.environ.get("SHIPWAY_DATABASE_URL", "SQLite"))
    print(f"interpreter: {sys.executable} (Python {sys.version.split()[0]})")
    print(f"{args.runs} trivial runs, {args.concurrency} at a time; poll interval "
          f"{POLL_INTERVAL} s; store: {store}; median of {args.rounds} interleaved rounds")
    print()
    print(throughput_line("plain loop (process infrastructure)", plains, args.runs))
    print(throughput_line("agent", agents, args.runs))
    print(throughput_line("bare engine processes (reference)", bares, args.runs))
    median, p95 = statistics.median(waits), percentile(waits, 0.95)
    print(f"{'submit-to-start median':<36} {median * 1000:7.0f} ms")
    print(f"{'submit-to-start p95':<36} {p95 * 1000:7.0f} ms   "
          f"({args.latency_samples} runs, max {max(waits) * 1000:.0f} ms)")
    print()
    plain, agent, bare = (statistics.median(v) for v in (plains, agents, bares))
    ratio = plain / agent  # throughput ratio: agent runs/s over plain-loop runs/s
    verdict = "within aim" if ratio >= THROUGHPUT_AIM else "BELOW aim"
    print(f"{'agent / plain loop throughput':<42} {ratio:5.2f}x   "
          f"(aim >= {THROUGHPUT_AIM:g}x: {verdict})")
    print(f"{'agent / bare engine processes throughput':<42} {bare / agent:5.2f}x   "
          "(reference)")
    verdict = "within aim" if median < LATENCY_AIM_SECONDS else "ABOVE aim"
    print(f"{'median submit-to-start':<42} {median:5.2f} s   "
          f"(aim < {LATENCY_AIM_SECONDS:g} s: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
