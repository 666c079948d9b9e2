"""How soon a run starts, and how soon a cancellation reaches it, with an agent polling
at its default interval: what wake-ups (the store telling agents there is new work)
save over waiting for the next poll.

Run it with the interpreter of the environment to measure:

    .venv/bin/python bench/wakeup_latency.py [--samples 20] [--poll-interval 2]

One ``shipway agent start`` (process infrastructure, ``--poll-interval`` as given, 2 s
by default as for a user), on a fresh store: SQLite under a temporary SHIPWAY_HOME, or
the database in SHIPWAY_DATABASE_URL when set. Then, one after the other:

- start: ``--samples`` runs are created (``Store.create_flow_run``, as ``deployment run``
  does), each once the previous one ended; the figure is the run's creation time (the
  store's) to the first line of the flow's body (``time.time()`` written to a file);
- cancel: ``--samples`` runs of a flow that sleeps; once its body started, the
  cancellation is asked for (``Store.request_cancellation``, as ``flow-run cancel``
  does) and the figure is that moment to the flow's ``finally`` block, which the
  engine's SIGTERM reaches.

Aims: median start < 0.15 s, median cancellation < 0.3 s. Reported, not enforced.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from agent_throughput import apply, fresh_store, percentile, running_agent

from shipway.states import StateType
from shipway.store import Store, mask_url

START_AIM_SECONDS = 0.15
CANCEL_AIM_SECONDS = 0.3
ENTRYPOINT = "flows/marks.py:{name}"
QUEUE = "bench-wakeups"
FLOWS = """
import time
from pathlib import Path

from shipway import flow


@flow
def started(marker: str) -> None:
    Path(marker).write_text(repr(time.time()))


@flow
def stopped(marker: str) -> None:
    Path(marker + ".started").write_text(repr(time.time()))
    try:
        time.sleep(600)
    finally:
        Path(marker).write_text(repr(time.time()))
"""


def wait_for(path: Path, what: str, timeout: float = 60.0) -> float:
    """The time written in ``path`` once it is there."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            text = path.read_text()
        except FileNotFoundError:
            text = ""
        if text:
            return float(text)
        if time.monotonic() > deadline:
            sys.exit(f"{what} never happened ({path} was not written)")
        time.sleep(0.005)


def wait_final(store: Store, run_id: str, timeout: float = 60.0) -> StateType:
    deadline = time.monotonic() + timeout
    while not (state := store.get_flow_run(run_id).state).is_final:
        if time.monotonic() > deadline:
            sys.exit(f"flow run {run_id} never ended (it is {state.value})")
        time.sleep(0.02)
    return state


def start_latencies(store: Store, marks: Path, samples: int) -> list[float]:
    seconds = []
    for n in range(samples):
        marker = marks / f"started-{n}"
        record = store.create_flow_run("bench-started", parameters={"marker": str(marker)})
        seconds.append(wait_for(marker, "a run's start") - record.created.timestamp())
        if (state := wait_final(store, record.id)) is not StateType.COMPLETED:
            sys.exit(f"flow run {record.id} ended {state.value}")
        time.sleep(0.37)  # not a multiple of the poll interval: sample its phase
    return seconds


def cancel_latencies(store: Store, marks: Path, samples: int) -> list[float]:
    seconds = []
    for n in range(samples):
        marker = marks / f"stopped-{n}"
        record = store.create_flow_run("bench-stopped", parameters={"marker": str(marker)})
        wait_for(Path(f"{marker}.started"), "a run's start")
        time.sleep(0.37)
        asked = time.time()
        store.request_cancellation(record.id)
        seconds.append(wait_for(marker, "a cancellation") - asked)
        if (state := wait_final(store, record.id)) is not StateType.CANCELLED:
            sys.exit(f"flow run {record.id} ended {state.value}, not Cancelled")
    return seconds


def figure_line(label: str, values: list[float], aim: float) -> str:
    median = statistics.median(values)
    verdict = "within aim" if median < aim else "ABOVE aim"
    return (
        f"{label:<28} median {median * 1000:6.0f} ms"
        f"   p95 {percentile(values, 0.95) * 1000:6.0f} ms"
        f"   max {max(values) * 1000:6.0f} ms   (aim < {aim * 1000:.0f} ms: {verdict})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="Time a run's start and cancellation.")
    parser.add_argument("--samples", type=int, default=20, help="runs of each (default: 20)")
    parser.add_argument("--poll-interval", default="2", help="the agent's (default: 2 s)")
    args = parser.parse_args()
    if args.samples < 1:
        parser.error("--samples must be at least 1")

    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory(prefix="shipway-bench-") as temporary:
        root = Path(temporary)
        project = root / "project"
        (project / "flows").mkdir(parents=True)
        (project / "flows" / "marks.py").write_text(textwrap.dedent(FLOWS))
        marks = root / "marks"
        marks.mkdir()
        with fresh_store(root, "wakeups") as (store, env):
            for name in ("started", "stopped"):
                entrypoint = ENTRYPOINT.format(name=name)
                apply(store, project, f"bench-{name}", entrypoint, name, QUEUE)
            log = root / "agent.log"
            with running_agent(env, QUEUE, 4, log, poll_interval=args.poll_interval):
                starts = start_latencies(store, marks, args.samples)
                cancels = cancel_latencies(store, marks, args.samples)

    backend = mask_url(os.environ.get("SHIPWAY_DATABASE_URL", "SQLite"))
    print(f"interpreter: {sys.executable} (Python {sys.version.split()[0]})")
    print(f"store: {backend}; one agent, poll interval {args.poll_interval} s; "
          f"{args.samples} runs of each, one at a time")
    print()
    print(figure_line("created -> flow body", starts, START_AIM_SECONDS))
    print(figure_line("cancel asked -> flow stops", cancels, CANCEL_AIM_SECONDS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
