"""Many concurrent runs of one deployment through a real ``shipway agent start --run-once``.

Shared by the concurrency tests of the Docker and Kubernetes plugins and by
bench/kubernetes_scale.py: a fresh SQLite store in ``home``, one deployment with the
given infrastructure, ``runs`` runs created at once, then one agent process that claims
up to ``limit`` of them at a time and exits when none is left. The result says how long
that took, the agent's peak RSS, and every run's state history, so a caller can check
that each run was Completed exactly once.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

from _agent_helpers import AgentProcess, states_of
from shipway.states import StateType
from shipway.store import DeploymentSpec, Store, open_store

QUEUE = "load"


@dataclasses.dataclass
class AgentLoad:
    seconds: float
    """From the agent's start to its exit."""
    peak_rss_mb: float
    """The agent's resident memory high-water mark (VmHWM), last read before it exited."""
    histories: dict[str, list[StateType]]
    """Each run's states, in order."""
    exit_code: int
    output: str

    def not_completed_once(self) -> dict[str, list[str]]:
        """The runs whose history is not exactly one Completed, at the end."""
        return {
            run_id: [state.value for state in states]
            for run_id, states in self.histories.items()
            if states.count(StateType.COMPLETED) != 1 or states[-1] is not StateType.COMPLETED
        }


def _peak_rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def load_store(
    home: Path,
    infrastructure: dict[str, Any],
    runs: int,
    entrypoint: str = "flows/hello.py:hello",
) -> tuple[Store, list[str]]:
    """A fresh store in ``home`` with the deployment ``load`` and ``runs`` runs of it."""
    home.mkdir(parents=True, exist_ok=True)
    store = open_store(f"sqlite:///{home / 'shipway.db'}")
    store.apply_deployment(
        DeploymentSpec(
            name="load",
            entrypoint=entrypoint,
            flow_name=entrypoint.rpartition(":")[2],
            working_dir=None,
            parameters={},
            infrastructure=infrastructure,
            work_queue=QUEUE,
        )
    )
    return store, [store.create_flow_run("load").id for _ in range(runs)]


def start_agent(store: Store, home: Path, *args: str) -> AgentProcess:
    """``shipway agent start -q load ARGS`` on ``store``, with its output in home/agent.log."""
    env = {**os.environ, "SHIPWAY_HOME": str(home), "SHIPWAY_DATABASE_URL": store.url}
    return AgentProcess(env, ["-q", QUEUE, "--poll-interval", "0.2", *args], home / "agent.log")


def run_through_agent(
    home: Path,
    infrastructure: dict[str, Any],
    *,
    runs: int,
    limit: int,
    timeout: float,
    entrypoint: str = "flows/hello.py:hello",
) -> AgentLoad:
    """Create ``runs`` runs and let one agent (``--limit limit``) run them all; the agent
    is killed (and the result says so) if it has not exited within ``timeout`` seconds."""
    store, ids = load_store(home, infrastructure, runs, entrypoint)
    try:
        peak = 0.0
        started = time.monotonic()
        agent = start_agent(store, home, "--run-once", "--limit", str(limit))
        try:
            while agent.process.poll() is None and time.monotonic() - started < timeout:
                peak = max(peak, _peak_rss_mb(agent.process.pid) or 0.0)
                time.sleep(0.2)
            seconds = time.monotonic() - started
        finally:
            if agent.process.poll() is None:
                agent.process.kill()
            exit_code = agent.wait()
        histories = {run_id: states_of(store, run_id) for run_id in ids}
        return AgentLoad(seconds, peak, histories, exit_code, agent.output[-5000:])
    finally:
        store.close()
