"""What an agent pays for working through a shipway server (``agent start --api``) instead
of on the database: throughput and submit-to-start latency, side by side.

Run it with the interpreter of the environment to measure (shipway[server,remote] and
shipway-process installed there):

    .venv/bin/python bench/remote_agent.py [--runs 100] [--concurrency 8] [--rounds 3]

Each round, with a fresh store each (SQLite under a temporary SHIPWAY_HOME, or the
database in SHIPWAY_DATABASE_URL when set): one agent on the database, then one agent on
``--api`` through ``shipway server start`` (with a token; the agent gets no usable
database URL), each running ``--runs`` trivial runs ``--concurrency`` at a time, timed
from before the first run is created to the last run's end time in the store (as
``agent_throughput.py`` times its agent). Then ``--latency-samples`` runs created one at
a time for each: creation to Running. Figures are printed; there is no aim.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import httpx
from agent_throughput import (
    POLL_INTERVAL,
    apply,
    fresh_store,
    percentile,
    running_agent,
    throughput_line,
    wait_final,
    write_project,
)

from shipway.states import StateType
from shipway.store import Store, mask_url

MAIN = "from shipway.cli import main; main()"


@contextmanager
def server_for(env: dict[str, str], log: Path) -> Iterator[dict[str, str]]:
    """``shipway server start`` over the store of ``env``; yields the environment of an
    agent that reaches the store only through it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = secrets.token_urlsafe(32)
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-c", MAIN, "server", "start", "--port", str(port)],
            env={**env, "SHIPWAY_SERVER_TOKEN": token},
            stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while not _answers(url, token):
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"the server did not start:\n{log.read_text(errors='replace')}")
                time.sleep(0.1)
            yield {
                **env,
                "SHIPWAY_API_URL": url,
                "SHIPWAY_API_TOKEN": token,
                "SHIPWAY_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
            }
        finally:
            server.terminate()
            server.wait(60)


def _answers(url: str, token: str) -> bool:
    try:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.get(f"{url}/api/health", headers=headers, timeout=2).is_success
    except httpx.TransportError:
        return False


@contextmanager
def agent_env(
    env: dict[str, str], remote: bool, root: Path, label: str
) -> Iterator[dict[str, str]]:
    if not remote:
        yield env
        return
    with server_for(env, root / f"{label}-server.log") as remote_env:
        yield remote_env


def throughput(
    root: Path, project: Path, runs: int, concurrency: int, label: str, remote: bool
) -> float:
    with fresh_store(root, label) as (store, env), agent_env(env, remote, root, label) as env:
        apply(store, project, label)
        with running_agent(env, label, concurrency, root / f"{label}.log"):
            started = datetime.now(timezone.utc)
            ids = [store.create_flow_run(label, parameters={"n": n}).id for n in range(runs)]
            return (wait_final(store, ids) - started).total_seconds()


def latencies(root: Path, project: Path, samples: int, label: str, remote: bool) -> list[float]:
    with fresh_store(root, label) as (store, env), agent_env(env, remote, root, label) as env:
        apply(store, project, label)
        with running_agent(env, label, 4, root / f"{label}.log"):
            ids = []
            for n in range(samples):
                ids.append(store.create_flow_run(label, parameters={"n": n}).id)
                time.sleep(0.37)  # not a multiple of the poll interval: sample its phase
            wait_final(store, ids)
        return [_submit_to_start(store, run_id) for run_id in ids]


def _submit_to_start(store: Store, run_id: str) -> float:
    record = store.get_flow_run(run_id)
    running = next(s for s in store.state_history(run_id) if s.type is StateType.RUNNING)
    return (running.timestamp - record.created).total_seconds()


def main() -> int:
    parser = argparse.ArgumentParser(description="An agent on --api against one on the database.")
    parser.add_argument("--runs", type=int, default=100, help="flow runs (default: 100)")
    parser.add_argument("--concurrency", type=int, default=8, help="at once (default: 8)")
    parser.add_argument("--latency-samples", type=int, default=20, help="(default: 20)")
    parser.add_argument("--rounds", type=int, default=3, help="medians kept (default: 3)")
    args = parser.parse_args()
    if min(args.runs, args.concurrency, args.latency_samples, args.rounds) < 1:
        parser.error("--runs, --concurrency, --latency-samples and --rounds must be at least 1")

    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    times: dict[bool, list[float]] = {False: [], True: []}
    waits: dict[bool, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="shipway-bench-") as temporary:
        root = Path(temporary)
        project = write_project(root / "project")
        for round_number in range(args.rounds):
            for remote in (False, True):
                label = f"{'api' if remote else 'db'}-{round_number}"
                times[remote].append(
                    throughput(root, project, args.runs, args.concurrency, label, remote)
                )
        for remote in (False, True):
            label = f"{'api' if remote else 'db'}-latency"
            waits[remote] = latencies(root, project, args.latency_samples, label, remote)

    store = mask_url(os.environ.get("SHIPWAY_DATABASE_URL", "SQLite"))
    print(f"interpreter: {sys.executable} (Python {sys.version.split()[0]})")
    print(
        f"{args.runs} trivial runs, {args.concurrency} at a time; poll interval "
        f"{POLL_INTERVAL} s; store: {store}; median of {args.rounds} interleaved rounds"
    )
    print()
    print(throughput_line("agent on the database", times[False], args.runs))
    print(throughput_line("agent on --api (through the server)", times[True], args.runs))
    for remote, label in ((False, "database"), (True, "--api")):
        median, p95 = statistics.median(waits[remote]), percentile(waits[remote], 0.95)
        print(
            f"{'submit-to-start, ' + label:<36} {median * 1000:7.0f} ms median, "
            f"{p95 * 1000:.0f} ms p95 ({args.latency_samples} runs)"
        )
    ratio = statistics.median(times[False]) / statistics.median(times[True])
    print()
    print(f"{'--api / database throughput':<36} {ratio:7.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
