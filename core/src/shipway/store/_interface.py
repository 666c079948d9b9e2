"""The store as the agent and the run commands use it: :class:`StoreInterface`.

Two implementations: :class:`~shipway.store.Store` (the database itself) and
:class:`~shipway.store.RemoteStore` (the same calls over a shipway server's internal
API, for agents and commands that hold a token instead of the database's credentials).
The agent, ``deployment run``, ``flow-run ...``, ``work-queue ...`` and ``agent ls``
depend on this protocol only; commands that manage the database itself (``deployment
apply``, ``server start``) use :class:`~shipway.store.Store`.

Extending it: a method added here is served by the server's agent API and called by
``RemoteStore`` by its name, with its arguments and result (de)serialised from the
type hints below (``_wire``); nothing else lists it. A capability that cannot be a
request and an answer (a wake-up on new work) belongs in a protocol of its own, which
``RemoteStore`` may leave out (the agent polls then).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from shipway.states import StateType
from shipway.store._flow_runs import ACTIVE_STATES, RunPosition
from shipway.store._records import (
    AgentRecord,
    DeploymentRecord,
    FlowRunRecord,
    LogLine,
    StateRecord,
    StoredLogLine,
    WorkQueueRecord,
)
from shipway.store._transitions import StateChange

__all__ = ["StoreInterface", "remote_methods"]


class StoreInterface(Protocol):
    """What the agent and the run commands call; see :class:`~shipway.store.Store` for
    what each method does (the docstrings live there, once)."""

    @property
    def url(self) -> str:
        """Where the store is, for messages (no password, no token)."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> StoreInterface: ...

    def __exit__(self, *exc_info: object) -> None: ...

    # -- deployments and new runs ----------------------------------------------------

    def get_deployment(self, name: str) -> DeploymentRecord: ...

    def list_deployments(self) -> list[DeploymentRecord]: ...

    def create_flow_run(
        self,
        deployment: str,
        *,
        parameters: Mapping[str, Any] | None = None,
        overrides: Mapping[str, Any] | None = None,
        scheduled_time: datetime | None = None,
    ) -> FlowRunRecord: ...

    def schedule_due_runs(self, now: datetime, horizon: timedelta) -> int: ...

    # -- flow runs, their states and logs --------------------------------------------

    def get_flow_run(self, run_id: str) -> FlowRunRecord: ...

    def list_flow_runs(
        self,
        *,
        deployment: str | None = None,
        states: Collection[StateType] | None = None,
        limit: int = 50,
        work_queue: str | None = None,
        before: RunPosition | None = None,
    ) -> list[FlowRunRecord]: ...

    def state_history(self, run_id: str) -> list[StateRecord]: ...

    def set_state(
        self,
        run_id: str,
        change: StateChange,
        *,
        expected: Collection[StateType] | None = None,
        owner: str | None = None,
    ) -> FlowRunRecord: ...

    def request_cancellation(self, run_id: str) -> FlowRunRecord: ...

    def append_logs(self, run_id: str, lines: Sequence[LogLine]) -> None: ...

    def read_logs(
        self, run_id: str, *, after: int = 0, limit: int = 1000, min_level: int | None = None
    ) -> list[StoredLogLine]: ...

    # -- agents, claims and leases ---------------------------------------------------

    def register_agent(
        self,
        name: str,
        queues: Sequence[str],
        limit: int | None,
        infrastructure_types: Sequence[str] | None = None,
    ) -> AgentRecord: ...

    def heartbeat(self, agent_id: str) -> None: ...

    def deregister_agent(self, agent_id: str) -> None: ...

    def list_agents(self, *, alive_since: datetime | None = None) -> list[AgentRecord]: ...

    def get_agent(self, agent_id: str) -> AgentRecord | None: ...

    def claim_runs(
        self,
        agent_id: str,
        queues: Sequence[str],
        limit: int,
        now: datetime | None = None,
        *,
        infrastructure_types: Collection[str] | None = None,
        lease: timedelta | None = None,
    ) -> list[FlowRunRecord]: ...

    def runs_of_agent(
        self, agent_id: str, states: Collection[StateType]
    ) -> list[FlowRunRecord]: ...

    def count_runs_by_agent(
        self, states: Collection[StateType] = ACTIVE_STATES
    ) -> dict[str, int]: ...

    def orphaned_runs(
        self, *, stale_after: timedelta, queues: Sequence[str]
    ) -> list[FlowRunRecord]: ...

    def adopt_run(
        self,
        run_id: str,
        agent_id: str,
        previous_agent_id: str | None,
        *,
        lease: timedelta | None = None,
    ) -> FlowRunRecord | None: ...

    def hand_back_run(self, run_id: str, agent_id: str, to_agent_id: str) -> bool: ...

    def renew_leases(
        self, agent_id: str, lease: timedelta, run_ids: Collection[str] | None = None
    ) -> list[str]: ...

    # -- work queues -----------------------------------------------------------------

    def list_work_queues(self) -> list[WorkQueueRecord]: ...

    def set_work_queue_limit(self, name: str, limit: int | None) -> WorkQueueRecord: ...


def remote_methods() -> tuple[str, ...]:
    """The names of the calls a server answers for a remote store: every public method
    of :class:`StoreInterface` (``close`` and ``url`` stay on each side)."""
    return tuple(
        name
        for name, value in vars(StoreInterface).items()
        if callable(value) and not name.startswith("_") and name != "close"
    )
