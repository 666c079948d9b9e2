"""``shipway flow-run ls`` and ``shipway deployment ls`` on a store holding many runs.

Run it with the interpreter of the environment to measure:

    .venv/bin/python bench/store_listing.py [--runs 100000] [--deployments 20] [--repeat 10]

It fills a fresh store (SQLite under a temporary SHIPWAY_HOME, or the database in
SHIPWAY_DATABASE_URL when set, which must be empty) with ``--deployments`` deployments
and ``--runs`` finished runs spread over them and over four weeks (inserted in bulk:
creating them one by one would take longer than the benchmark), then times, each once
as a warm-up and then ``--repeat`` times, interleaved:

- ``python -c pass`` (the interpreter alone, for scale);
- ``shipway flow-run ls`` (the 20 newest runs), ``flow-run ls --deployment NAME``,
  ``flow-run ls --state Failed`` and ``deployment ls``.

Aim: each ``shipway`` command < 200 ms (wall, median). Reported, not enforced.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from _timing import Command, measure, print_table, shipway_script

from shipway.states import StateType
from shipway.store import DeploymentSpec, open_store

AIM_SECONDS = 0.2
BATCH = 5_000
FINAL = [StateType.COMPLETED] * 8 + [StateType.FAILED, StateType.CANCELLED]


def fill(url: str, deployments: int, runs: int) -> None:
    """Bulk-insert ``runs`` finished runs with their history, as the store writes them."""
    from shipway.store import _tables as t  # the benchmark fills the store's own tables
    from shipway.store._rows import history_values, new_run_values

    store = open_store(url)
    try:
        if store.count_flow_runs():
            sys.exit(f"the store at {store.url} is not empty: give the benchmark its own")
        records = [
            record
            for record, _ in store.apply_deployments(
                [
                    DeploymentSpec(
                        name=f"bench-{n:02d}",
                        entrypoint="flows/trivial.py:trivial",
                        flow_name="trivial",
                        working_dir="/srv/project",
                        parameters={"n": n},
                        infrastructure={"type": "process"},
                        work_queue=f"queue-{n % 4}",
                    )
                    for n in range(deployments)
                ]
            )
        ]
        engine = store._db._engine  # one bulk transaction per batch, not one per run
        now = datetime.now(timezone.utc)
        chance = random.Random(14)
        for start in range(0, runs, BATCH):
            run_rows, history_rows = [], []
            for _ in range(start, min(start + BATCH, runs)):
                record = chance.choice(records)
                created = now - timedelta(seconds=chance.uniform(0, 28 * 24 * 3600))
                values = new_run_values(record, created, created)
                state = chance.choice(FINAL)
                ended = created + timedelta(seconds=chance.uniform(1, 60))
                values.update(state=state.value, start_time=created, end_time=ended,
                              updated=ended, exit_code=0 if state is StateType.COMPLETED else 1)
                run_rows.append(values)
                for step, at in ((StateType.SCHEDULED, created), (StateType.RUNNING, created),
                                 (state, ended)):
                    history_rows.append(history_values(
                        values["id"], step, "", at, attempt=1, agent_id=None, identifier=None
                    ))
            with engine.begin() as connection:
                connection.execute(t.flow_runs.insert(), run_rows)
                connection.execute(t.flow_run_states.insert(), history_rows)
        if store.backend == "postgresql":
            with engine.connect() as connection:  # fresh statistics, as autovacuum would make
                connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "ANALYZE"
                )
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description="Time listings on a store with many runs.")
    parser.add_argument("--runs", type=int, default=100_000, help="runs (default: 100000)")
    parser.add_argument("--deployments", type=int, default=20, help="(default: 20)")
    parser.add_argument("--repeat", type=int, default=10, help="timed runs each (default: 10)")
    args = parser.parse_args()
    if min(args.runs, args.deployments, args.repeat) < 1:
        parser.error("--runs, --deployments and --repeat must be at least 1")

    shipway = shipway_script()
    with tempfile.TemporaryDirectory(prefix="shipway-bench-") as temporary:
        home = Path(temporary)
        os.environ["SHIPWAY_HOME"] = str(home)
        url = os.environ.get("SHIPWAY_DATABASE_URL") or f"sqlite:///{home / 'shipway.db'}"
        os.environ["SHIPWAY_DATABASE_URL"] = url
        started = time.perf_counter()
        fill(url, args.deployments, args.runs)
        print(f"filled the store with {args.runs} runs of {args.deployments} deployments "
              f"in {time.perf_counter() - started:.0f} s")
        python = Command("python -c pass", [sys.executable, "-c", "pass"])
        listings = [
            Command("shipway flow-run ls", [str(shipway), "flow-run", "ls"]),
            Command("shipway flow-run ls --deployment bench-07",
                    [str(shipway), "flow-run", "ls", "--deployment", "bench-07"]),
            Command("shipway flow-run ls --state Failed",
                    [str(shipway), "flow-run", "ls", "--state", "Failed"]),
            Command("shipway deployment ls", [str(shipway), "deployment", "ls"], home),
        ]
        measure([python, *listings], args.repeat)
    print(f"store: {'SQLite' if url.startswith('sqlite') else 'PostgreSQL'}")
    print_table([python, *listings], args.repeat)
    for command in listings:
        verdict = "within aim" if command.median < AIM_SECONDS else "ABOVE aim"
        print(f"{command.label:<42} {command.median * 1000:6.0f} ms   "
              f"(aim < {AIM_SECONDS * 1000:.0f} ms: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
