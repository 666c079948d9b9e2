"""What an agent is told (its settings) and what it tells (one event per state change)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from shipway.liveness import HEARTBEAT_INTERVAL, silence_limit
from shipway.names import check_name_length
from shipway.states import StateType

__all__ = ["AgentSettings", "RunEvent"]


@dataclasses.dataclass(frozen=True)
class AgentSettings:
    """How an agent behaves; the CLI options map one to one."""

    name: str
    queues: tuple[str, ...] = ()
    """Work queues to take runs from; empty: every queue."""
    limit: int = 4
    """Runs at most at once (this agent); work-queue limits are enforced by the store."""
    poll_interval: float = 2.0
    heartbeat_interval: float = HEARTBEAT_INTERVAL
    run_once: bool = False
    kill_grace_seconds: int = 10
    schedule_horizon: timedelta = timedelta(seconds=10)
    """How far ahead scheduled runs are created."""
    orphan_timeout: timedelta = timedelta(minutes=10)
    """A run left by a dead agent on infrastructure this agent cannot reach (a process on
    another host) waits this long, counted from its agent's last heartbeat, for an agent
    that can reach it, then is marked Crashed."""
    handle_signals: bool = True

    def __post_init__(self) -> None:
        check_name_length("the agent name", self.name)
        for queue in self.queues:
            check_name_length("a work queue name", queue)

    @property
    def stale_after(self) -> timedelta:
        """An agent silent this long is considered gone and its runs are reconciled."""
        return silence_limit(self.heartbeat_interval)

    @property
    def lease(self) -> timedelta:
        """How long the agent holds a run without renewing its lease (with its heartbeat):
        another agent adopts the run only after that. As long as the agent may stay
        silent and still count as alive."""
        return silence_limit(self.heartbeat_interval)

    @property
    def reconcile_interval(self) -> float:
        return self.heartbeat_interval


@dataclasses.dataclass(frozen=True)
class RunEvent:
    """A state change the agent made, for the terminal (one line each)."""

    run_id: str
    deployment: str
    state: StateType
    message: str = ""
    identifier: str | None = None
