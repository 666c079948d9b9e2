"""Helpers for the agent tests: real flow files, deployments applied to a real store,
and ``shipway agent start`` run as real processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shipway.schedules import Schedule
from shipway.states import StateType
from shipway.store import DeploymentSpec, FlowRunRecord, Store

# A loaded 2-core machine may take seconds to start an interpreter.
WAIT_SECONDS = 60.0

FLOWS = {
    "hello": """
        from shipway import flow

        @flow
        def hello(name: str = "world") -> None:
            print(f"Hello, {name}!", flush=True)
    """,
    "failing": """
        from shipway import flow

        @flow
        def failing() -> None:
            print("about to fail", flush=True)
            raise RuntimeError("failing on purpose")
    """,
    "suicide": """
        import os, signal
        from shipway import flow

        @flow
        def suicide() -> None:
            print("going down", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
    """,
    "sleeper": """
        import time
        from pathlib import Path
        from shipway import flow

        @flow
        def sleeper(seconds: float = 600.0, marker: str = "") -> None:
            print("started", flush=True)
            if marker:
                Path(marker).write_text("started")
            time.sleep(seconds)
            print("slept to the end", flush=True)
    """,
    "flaky": """
        from pathlib import Path
        from shipway import flow

        @flow
        def flaky(counter: str, succeed_on: int = 3) -> None:
            path = Path(counter)
            attempt = int(path.read_text()) + 1 if path.exists() else 1
            path.write_text(str(attempt))
            print(f"attempt {attempt}", flush=True)
            if attempt < succeed_on:
                raise RuntimeError(f"attempt {attempt} fails")
    """,
}


def write_project(directory: Path) -> Path:
    """A project directory with every flow of :data:`FLOWS` under ``flows/``."""
    (directory / "flows").mkdir(parents=True, exist_ok=True)
    for name, source in FLOWS.items():
        (directory / "flows" / f"{name}.py").write_text(textwrap.dedent(source).lstrip())
    return directory


def apply(
    store: Store,
    name: str,
    project: Path,
    *,
    flow: str | None = None,
    infrastructure: dict[str, Any] | None = None,
    parameters: dict[str, Any] | None = None,
    work_queue: str = "default",
    retries: int = 0,
    retry_delay_seconds: float = 0.0,
    schedule: Schedule | None = None,
) -> None:
    flow = flow or name
    store.apply_deployment(
        DeploymentSpec(
            name=name,
            entrypoint=f"flows/{flow}.py:{flow}",
            flow_name=flow,
            working_dir=str(project),
            parameters=parameters or {},
            infrastructure=infrastructure or {"type": "process"},
            work_queue=work_queue,
            retries=retries,
            retry_delay_seconds=retry_delay_seconds,
            schedule=schedule,
        )
    )


def appending_command(target: Path, sleep: float = 0.0) -> dict[str, Any]:
    """A process infrastructure whose run is a shell appending its job (with the flow run
    id) to ``target``: a side effect per run, far cheaper than starting Python."""
    script = f'printf "%s\\n" "$SHIPWAY_FLOW_RUN" >> {target}'
    if sleep:
        script = f"sleep {sleep}; {script}"
    return {"type": "process", "command": ["sh", "-c", script]}


class AgentProcess:
    """``shipway agent start`` in a child process, with its output collected."""

    def __init__(
        self, env: dict[str, str], args: Sequence[str], log: Path, cwd: Path | None = None
    ) -> None:
        self.log = log
        self._file = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from shipway.cli import main; main()", "agent", "start", *args],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._file,
            stderr=subprocess.STDOUT,
        )

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = WAIT_SECONDS) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the agent did not exit in {timeout} s:\n{self.output}") from None
        finally:
            self._file.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.process.wait(WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._file.close()


class Agents:
    """Starts agents against one store; stops whatever is left at the end of a test."""

    def __init__(self, store_url: str, home: Path, logs: Path) -> None:
        self.store_url = store_url
        self.home = home
        self.logs = logs
        self.started: list[AgentProcess] = []

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["SHIPWAY_DATABASE_URL"] = self.store_url
        env["SHIPWAY_HOME"] = str(self.home)
        return env

    def start(self, *args: str) -> AgentProcess:
        log = self.logs / f"agent-{len(self.started)}.log"
        agent = AgentProcess(self.env(), ["--poll-interval", "0.2", *args], log)
        self.started.append(agent)
        return agent

    def run_once(self, *args: str, timeout: float = WAIT_SECONDS) -> AgentProcess:
        agent = self.start("--run-once", *args)
        code = agent.wait(timeout)
        assert code == 0, agent.output
        return agent

    def stop_all(self) -> None:
        for agent in self.started:
            agent.stop()


def wait_for(
    condition: Callable[[], Any], timeout: float = WAIT_SECONDS, what: str = "condition"
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def wait_for_state(
    store: Store, run_id: str, states: Iterable[StateType], timeout: float = WAIT_SECONDS
) -> FlowRunRecord:
    wanted = set(states)

    def reached() -> FlowRunRecord | None:
        record = store.get_flow_run(run_id)
        return record if record.state in wanted else None

    return wait_for(reached, timeout, f"flow run {run_id} to be {sorted(wanted)}")  # type: ignore[no-any-return]


def states_of(store: Store, run_id: str) -> list[StateType]:
    return [state.type for state in store.state_history(run_id)]


def log_text(store: Store, run_id: str) -> str:
    return "\n".join(line.text for line in store.read_logs(run_id, limit=100_000))


def run_ids_in(target: Path) -> list[str]:
    """The flow run ids an :func:`appending_command` run wrote, one per run."""
    import json

    if not target.exists():
        return []
    return [json.loads(line)["flow_run_id"] for line in target.read_text().splitlines() if line]


def max_overlap(records: Iterable[FlowRunRecord]) -> int:
    """The most runs that were running at the same moment."""
    edges: list[tuple[datetime, int]] = []
    for record in records:
        assert record.start_time is not None and record.end_time is not None
        edges.append((record.start_time, 1))
        edges.append((record.end_time, -1))
    edges.sort(key=lambda edge: (edge[0], edge[1]))
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def in_seconds(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


Execute = Callable[[str], None]


@contextlib.contextmanager
def claims_held_up(store_url: str) -> Iterator[Execute]:
    """Hold a lock that every claim waits for (SQLite: the write lock; PostgreSQL: the
    row of the work queue ``default``, which needs a limit for claims to lock it), and
    yield a function running SQL in the transaction holding it, committed at the end."""
    if store_url.startswith("postgres"):
        import psycopg

        with psycopg.connect(store_url.replace("+psycopg", ""), autocommit=False) as pg:
            pg.execute("SELECT name FROM work_queues WHERE name = 'default' FOR UPDATE")
            yield lambda sql: pg.execute(sql)  # type: ignore[call-overload]  # our literals
            pg.commit()
        return
    import sqlite3

    lite = sqlite3.connect(store_url.partition(":///")[2], timeout=30, isolation_level=None)
    try:
        lite.execute("BEGIN IMMEDIATE")
        yield lambda sql: lite.execute(sql) and None
        lite.execute("COMMIT")
    finally:
        lite.close()


def make_due(run_id: str) -> str:
    """SQL that makes a Scheduled run due (for :func:`claims_held_up`)."""
    return f"UPDATE flow_runs SET scheduled_time = '2000-01-01 00:00:00' WHERE id = '{run_id}'"
