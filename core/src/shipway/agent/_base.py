"""The agent's state and the small parts every other part of it uses: which runs it
watches (:class:`ActiveRun`), how one ends (:class:`Outcome`), stopping a run, and
telling the terminal and the observers what it did.

The agent is built up in layers, one concern per module, each class extending the one
below: :class:`AgentBase` (here) -> ``_leases.Leases`` (holding runs: renewing and
checking leases) -> ``_runs.RunLifecycle`` (one run, from its claim to its recorded
end) -> ``_recovery.Recovery`` (runs other agents, or an earlier life of this one, left
behind) -> ``_polling.Polling`` (the polling loop) -> ``_agent.Agent`` (start, signals,
heartbeats, stop).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import anyio
from anyio.abc import TaskGroup

from shipway.agent._logs import LogBuffer
from shipway.agent._settings import AgentSettings, RunEvent
from shipway.agent._store_calls import StoreCalls
from shipway.attempt import Attempt, stop_run
from shipway.infrastructure import Infrastructure
from shipway.jobs import Job
from shipway.plugins import PluginRegistry, get_registry
from shipway.states import State, StateType
from shipway.store import FlowRunRecord, StoreInterface

__all__ = ["LIVE_STATES", "RETRIED_STATES", "ActiveRun", "AgentBase", "Outcome", "log", "seconds"]

log = logging.getLogger("shipway.agent")

# Far longer than any store answer can be late.
_REMEMBER_FINISHED_SECONDS = 600.0
LIVE_STATES = frozenset({StateType.PENDING, StateType.RUNNING, StateType.CANCELLING})
RETRIED_STATES = frozenset({StateType.FAILED, StateType.CRASHED})


@dataclasses.dataclass(eq=False)
class ActiveRun:
    record: FlowRunRecord
    attempt: Attempt | None = None
    """The attempt running it here; None for a run followed again (see ``_resume``)."""
    infrastructure: Infrastructure | None = None
    job: Job | None = None
    identifier: str | None = None
    cancelled: bool = False
    handed_back: bool = False
    """Given back to the agent that left it, for one that can reach it to follow it."""
    lease_until: float = 0.0
    """Until when (``time.monotonic()``) this agent's lease on the run holds (see ``_leases``)."""
    lease_lost: bool = False
    """Another agent took the run over after this agent's lease lapsed: hands off."""


@dataclasses.dataclass(frozen=True)
class Outcome:
    state: StateType
    message: str
    identifier: str | None = None
    exit_code: int | None = None
    retry: bool = True

    @classmethod
    def of(cls, state: State) -> Outcome:
        exit_code = state.result.status_code if state.result is not None else None
        return cls(state.type, state.message, state.identifier, exit_code)


class AgentBase:
    """What every part of the agent shares: its store, settings and the runs it watches."""

    def __init__(
        self,
        store: StoreInterface,
        settings: AgentSettings,
        *,
        registry: PluginRegistry | None = None,
        on_event: Callable[[RunEvent], None] | None = None,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.id: str | None = None
        self._registry = registry or get_registry()
        self._on_event = on_event
        self._on_notice = on_notice
        self._calls = StoreCalls()
        self._logs = LogBuffer(store, self._calls)
        self._active: dict[str, ActiveRun] = {}
        # Attempts this agent finished lately: a query answered before a run ended may
        # be read after it ended, and must not make the agent take that run up again.
        self._finished: dict[tuple[str, int], float] = {}
        # Runs handed back because they live where this agent cannot reach (said once).
        self._unreachable: set[str] = set()
        self._wake = anyio.Event()
        self._stopping = False
        self._stop_reason: str | None = None
        """What asked the agent to stop (a signal's name), for its acknowledgement."""
        self._stop_acknowledged = False
        self._forced = False
        self._runs: TaskGroup | None = None
        self._types: list[str] = []
        """The infrastructure types whose runs this agent claims (set as it starts)."""
        self._started_at = datetime.now(timezone.utc)
        self._last_schedule = 0.0
        self._next_cancellation_check = 0.0

    @property
    def active_runs(self) -> int:
        return len(self._active)

    def _is_new(self, record: FlowRunRecord) -> bool:
        """Neither running here nor finished here (for this attempt)."""
        return record.id not in self._active and (record.id, record.attempt) not in self._finished

    def _forget_finished(self) -> None:
        horizon = time.monotonic() - _REMEMBER_FINISHED_SECONDS
        for key in [key for key, when in self._finished.items() if when < horizon]:
            del self._finished[key]

    def _cancel(self, active: ActiveRun) -> None:
        """Stop the run; before its attempt exists, the attempt is cancelled as it starts."""
        if active.cancelled:
            return
        active.cancelled = True
        if active.attempt is not None:
            active.attempt.cancel()
        elif active.identifier is not None and active.infrastructure is not None:  # followed
            assert self._runs is not None
            grace = self.settings.kill_grace_seconds
            self._runs.start_soon(stop_run, active.infrastructure, active.identifier, grace)

    # -- reporting --------------------------------------------------------------------

    def _event(
        self, record: FlowRunRecord, state: StateType, message: str, identifier: str | None = None
    ) -> None:
        if self._on_event is not None:
            self._on_event(RunEvent(record.id, record.deployment_name, state, message, identifier))

    def _notice(self, message: str) -> None:
        if self._on_notice is not None:
            self._on_notice(message)
        else:
            log.info(message)

    def _hook(self, active: ActiveRun, state: State) -> None:
        if active.job is not None:
            self._registry.flow_run_state_changed(active.job, state)


def seconds(delta: timedelta) -> str:
    return f"{delta.total_seconds():g} s"
