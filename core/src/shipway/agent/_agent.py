"""The agent: claim due flow runs from the store, run them on their infrastructure,
and keep their states and logs in the store, whatever happens to the database or to
the agent before it."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone

import anyio
from anyio.abc import TaskGroup

from shipway.agent._logs import LogBuffer, RunOutput
from shipway.agent._store_calls import StoreCalls
from shipway.attempt import Attempt, AttemptReporting, state_for_result, stop_run
from shipway.deployments import resolve_run
from shipway.errors import ShipwayError
from shipway.infrastructure import (
    Infrastructure,
    InfrastructureError,
    InfrastructureNotAvailable,
    InfrastructureNotFound,
    InfrastructureResult,
    ReattachesRuns,
    output_sink,
)
from shipway.jobs import Job
from shipway.liveness import HEARTBEAT_INTERVAL, silence_limit
from shipway.plugins import PluginRegistry, get_registry
from shipway.states import State, StateType
from shipway.store import FlowRunRecord, Retry, StateChange, StateConflict, Store

__all__ = ["Agent", "AgentSettings", "RunEvent"]

log = logging.getLogger("shipway.agent")

# Far longer than any store answer can be late.
_REMEMBER_FINISHED_SECONDS = 600.0
LIVE_STATES = frozenset({StateType.PENDING, StateType.RUNNING, StateType.CANCELLING})
RETRIED_STATES = frozenset({StateType.FAILED, StateType.CRASHED})


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

    @property
    def stale_after(self) -> timedelta:
        """An agent silent this long is considered gone and its runs are reconciled."""
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


@dataclasses.dataclass(eq=False)
class _ActiveRun:
    record: FlowRunRecord
    attempt: Attempt | None = None
    """The attempt running it here; None for a run followed again (see ``_resume``)."""
    infrastructure: Infrastructure | None = None
    job: Job | None = None
    identifier: str | None = None
    cancelled: bool = False
    handed_back: bool = False
    """Given back to the agent that left it, for one that can reach it to follow it."""


@dataclasses.dataclass(frozen=True)
class _Outcome:
    state: StateType
    message: str
    identifier: str | None = None
    exit_code: int | None = None
    retry: bool = True

    @classmethod
    def of(cls, state: State) -> _Outcome:
        exit_code = state.result.status_code if state.result is not None else None
        return cls(state.type, state.message, state.identifier, exit_code)


class Agent:
    """Poll the store and run what is due. ``await agent.run()`` returns when the agent
    has stopped (a signal, or ``run_once`` and nothing left) and has deregistered."""

    def __init__(
        self,
        store: Store,
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
        self._active: dict[str, _ActiveRun] = {}
        # Attempts this agent finished lately: a query answered before a run ended may
        # be read after it ended, and must not make the agent take that run up again.
        self._finished: dict[tuple[str, int], float] = {}
        # Runs handed back because they live where this agent cannot reach (said once).
        self._unreachable: set[str] = set()
        self._wake = anyio.Event()
        self._stopping = False
        self._forced = False
        self._runs: TaskGroup | None = None
        self._started_at = datetime.now(timezone.utc)
        self._last_schedule = 0.0

    # -- lifecycle --------------------------------------------------------------------

    @property
    def active_runs(self) -> int:
        return len(self._active)

    def stop(self, force: bool = False) -> None:
        """Stop claiming and finish the running runs; ``force``: kill them (Cancelled)."""
        if force:
            self._forced = True
            for active in list(self._active.values()):
                self._cancel(active)
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        self._registry.load_observers()
        settings = self.settings
        register = self._calls.once if settings.run_once else self._calls
        record = await register(
            self.store.register_agent, settings.name, list(settings.queues), settings.limit
        )
        self.id = record.id
        self._started_at = datetime.now(timezone.utc)
        self._notice(
            f"agent {settings.name!r} ({record.id}) polling "
            f"{', '.join(settings.queues) or 'every queue'} on {self.store.url} "
            f"(limit {settings.limit}, every {settings.poll_interval:g} s)"
        )
        try:
            async with anyio.create_task_group() as services:
                services.start_soon(self._logs.run)
                services.start_soon(self._heartbeats)
                if settings.handle_signals:
                    services.start_soon(self._watch_signals)
                async with anyio.create_task_group() as runs:
                    self._runs = runs
                    await self._poll()
                await self._logs.flush()
                services.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self._logs.flush()
                await self._calls(self.store.deregister_agent, record.id)
        self._notice(f"agent {settings.name!r} stopped")

    async def _watch_signals(self) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                name = signal.Signals(signum).name
                if not self._stopping:
                    self._notice(
                        f"{name}: no new runs; waiting for {len(self._active)} running "
                        "run(s) to finish (signal again to cancel them)"
                    )
                    self.stop()
                else:
                    self._notice(f"{name} again: cancelling {len(self._active)} run(s)")
                    self.stop(force=True)

    async def _heartbeats(self) -> None:
        assert self.id is not None
        while True:
            await anyio.sleep(self.settings.heartbeat_interval)
            await self._calls(self.store.heartbeat, self.id)

    # -- the polling loop -------------------------------------------------------------

    async def _poll(self) -> None:
        settings = self.settings
        claim_until = self._started_at if settings.run_once else None
        next_reconcile = next_cancellation_check = 0.0
        while True:
            # A run ending wakes the loop at once to fill its slot (a new event before the
            # work, so an ending during the work is not missed); cancellation requests are
            # looked for once per poll interval however often that happens.
            self._wake = anyio.Event()
            if time.monotonic() >= next_cancellation_check:
                await self._handle_cancellations()
                next_cancellation_check = time.monotonic() + settings.poll_interval
            if self._stopping:
                if not self._active:
                    return
            else:
                if time.monotonic() >= next_reconcile:
                    await self._reconcile()
                    next_reconcile = time.monotonic() + settings.reconcile_interval
                if not settings.run_once:
                    await self._create_scheduled_runs()
                claimed = await self._claim(claim_until)
                if settings.run_once and not claimed and not self._active:
                    return
            with anyio.move_on_after(settings.poll_interval):
                await self._wake.wait()

    async def _claim(self, now: datetime | None) -> int:
        free = self.settings.limit - len(self._active)
        if free <= 0:
            return 0
        assert self.id is not None
        records = await self._calls(
            self.store.claim_runs, self.id, list(self.settings.queues), free, now=now
        )
        if self._stopping:  # a signal arrived while claiming: run them all the same
            log.debug("claimed %d run(s) while stopping", len(records))
        for record in records:
            self._event(record, StateType.PENDING, "claimed")
            self._start(record, self._execute)
        return len(records)

    async def _create_scheduled_runs(self) -> None:
        """Every agent does it (at most once a second); the store makes it idempotent."""
        if time.monotonic() - self._last_schedule < 1.0:
            return
        self._last_schedule = time.monotonic()
        created = await self._calls(
            self.store.schedule_due_runs, datetime.now(timezone.utc), self.settings.schedule_horizon
        )
        if created:
            log.debug("created %d scheduled run(s)", created)

    def _start(
        self, record: FlowRunRecord, work: Callable[..., Awaitable[None]], *args: object
    ) -> None:
        """Track the run at once (no await before): a slot is taken, and a later
        reconciliation sees the run as watched."""
        assert self._runs is not None
        active = _ActiveRun(record)
        self._active[record.id] = active
        self._runs.start_soon(self._guarded, active, work, *args)

    async def _guarded(
        self, active: _ActiveRun, work: Callable[..., Awaitable[None]], *args: object
    ) -> None:
        try:
            await work(active, *args)
        except Exception as exc:  # a bug: the run must still end somewhere
            log.exception("agent error on flow run %s", active.record.id)
            with contextlib.suppress(Exception):
                await self._finish(
                    active,
                    _Outcome(
                        StateType.CRASHED,
                        f"the agent failed: {type(exc).__name__}: {exc}",
                        active.identifier,
                    ),
                )
        finally:
            del self._active[active.record.id]
            if not active.handed_back:
                self._finished[(active.record.id, active.record.attempt)] = time.monotonic()
            self._wake.set()

    def _is_new(self, record: FlowRunRecord) -> bool:
        """Neither running here nor finished here (for this attempt)."""
        return record.id not in self._active and (record.id, record.attempt) not in self._finished

    def _forget_finished(self) -> None:
        horizon = time.monotonic() - _REMEMBER_FINISHED_SECONDS
        for key in [key for key, when in self._finished.items() if when < horizon]:
            del self._finished[key]

    # -- one run ----------------------------------------------------------------------

    async def _execute(self, active: _ActiveRun) -> None:
        record = active.record
        output = RunOutput(self._logs, record.id, record.attempt)
        try:
            resolution = resolve_run(record.run_request(), registry=self._registry)
        except ShipwayError as exc:
            output.note("shipway", f"cannot submit the flow run: {exc}")
            await self._finish(
                active, _Outcome(StateType.FAILED, f"cannot submit: {exc}", retry=False)
            )
            return
        active.job = resolution.job
        attempt = active.attempt = Attempt(
            resolution.infrastructure,
            resolution.job,
            registry=self._registry,
            reporting=AttemptReporting(
                write_state=functools.partial(self._write_state, active, output),
                output=output,
                output_location=output.location,
            ),
            grace_seconds=self.settings.kill_grace_seconds,
        )
        if active.cancelled:  # asked for before the attempt existed
            attempt.cancel()
        try:
            await attempt.run()
        except Exception:
            if attempt.final is None:  # it never ended: an agent bug, for _guarded to report
                raise
            # Else the infrastructure failed: recorded Crashed, the reason in the run's logs.

    async def _write_state(self, active: _ActiveRun, output: RunOutput, state: State) -> bool:
        """Keep an attempt's state in the store (see ``AttemptReporting.write_state``)."""
        if state.type is StateType.PENDING:
            return True  # the claim recorded it
        if state.type is StateType.RUNNING:
            assert state.identifier is not None
            active.identifier = state.identifier
            return await self._mark_running(active, state.identifier)
        if state.type is StateType.CRASHED and state.result is None:
            output.note("shipway", f"the infrastructure failed: {state.message}")
        return await self._record_final(active, _Outcome.of(state))

    async def _mark_running(self, active: _ActiveRun, identifier: str) -> bool:
        record = active.record
        try:
            await self._calls(
                self.store.set_state,
                record.id,
                StateChange(StateType.RUNNING, identifier=identifier),
                expected=(StateType.PENDING,),
            )
        except StateConflict:
            current = await self._calls(self.store.get_flow_run, record.id)
            if current.state is StateType.RUNNING:  # our write landed; the answer was lost
                pass
            elif current.state is StateType.CANCELLING:  # cancelled while it started
                self._cancel(active)
                return False
            else:
                log.warning("flow run %s is %s, not Pending", record.id, current.state)
                return False
        self._event(record, StateType.RUNNING, "", identifier)
        return True

    async def _finish(self, active: _ActiveRun, outcome: _Outcome) -> None:
        """End a run that no attempt ran to its end: record it, then tell the observers."""
        if await self._record_final(active, outcome):
            self._hook(active, State(outcome.state, outcome.message, identifier=outcome.identifier))

    async def _record_final(self, active: _ActiveRun, outcome: _Outcome) -> bool:
        """Record the final state (after the run's last log lines) and, when the run has
        attempts left, its next attempt in the same write. False when someone else moved
        the run first."""
        record = active.record
        retry = (
            outcome.retry
            and outcome.state in RETRIED_STATES
            and record.attempt <= record.retries
            and not self._forced
        )
        retry_message = f"retry: attempt {record.attempt + 1} of {record.retries + 1}"
        retry_at = datetime.now(timezone.utc) + timedelta(seconds=record.retry_delay_seconds)
        change = StateChange(
            outcome.state,
            outcome.message,
            identifier=outcome.identifier,
            exit_code=outcome.exit_code,
            retry=Retry(retry_at, retry_message) if retry else None,
        )
        await self._logs.flush(record.id)
        try:
            stored = await self._calls(
                self.store.set_state, record.id, change, expected=LIVE_STATES
            )
            retry = stored.attempt > record.attempt  # not when its cancellation was asked
        except StateConflict:
            current = await self._calls(self.store.get_flow_run, record.id)
            # Our write landed but its answer was lost: the run is in our final state, or
            # in its next attempt (maybe claimed by now).
            retry = retry and current.attempt > record.attempt
            ours = retry or (current.attempt == record.attempt and current.state is outcome.state)
            if not ours:  # someone else moved it first
                log.warning(
                    "flow run %s ended %s but is already %s; left as it is",
                    record.id,
                    outcome.state,
                    current.state,
                )
                return False
        self._event(record, outcome.state, outcome.message, outcome.identifier)
        if retry:
            self._event(record, StateType.SCHEDULED, retry_message)
        return True

    # -- cancellation -----------------------------------------------------------------

    async def _handle_cancellations(self) -> None:
        assert self.id is not None
        requested = await self._calls(
            self.store.runs_of_agent, self.id, (StateType.CANCELLING,)
        )
        for record in requested:
            active = self._active.get(record.id)
            if active is not None:
                self._cancel(active)
            elif self._is_new(record):  # ours, but nobody watches it
                self._start(record, self._resume, record.agent_id)

    def _cancel(self, active: _ActiveRun) -> None:
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

    # -- reconciliation ---------------------------------------------------------------

    async def _reconcile(self) -> None:
        """Adopt the runs of agents that are gone, and pick up claims whose answer we
        never received (the database dropped the connection after committing)."""
        assert self.id is not None
        orphans = await self._calls(
            self.store.orphaned_runs,
            stale_after=self.settings.stale_after,
            queues=list(self.settings.queues),
        )
        self._forget_finished()
        for record in orphans:
            if not self._is_new(record) or record.agent_id == self.id:
                continue
            adopted = await self._calls(self.store.adopt_run, record.id, self.id, record.agent_id)
            if adopted is not None:
                self._start(adopted, self._resume, record.agent_id)
        mine = await self._calls(
            self.store.runs_of_agent, self.id, (StateType.PENDING, StateType.RUNNING)
        )
        for record in mine:
            if not self._is_new(record):
                continue
            if record.state is StateType.PENDING and record.identifier is None:
                self._start(record, self._execute)  # claimed by us, never started
            else:
                self._start(record, self._resume, self.id)

    async def _resume(self, active: _ActiveRun, previous_agent: str | None) -> None:
        """Finish a run another agent (or an earlier life of this one) left behind."""
        record = active.record
        if previous_agent == self.id and not await self._still_ours(active):
            return
        who = f"agent {previous_agent}" if previous_agent else "its agent"
        output = RunOutput(self._logs, record.id, record.attempt)
        if record.identifier is None:
            if record.state is StateType.CANCELLING:
                await self._finish(active, _Outcome(StateType.CANCELLED, "cancelled", retry=False))
                return
            message = (
                f"{who} stopped before the run was recorded as started; it is not submitted "
                "again (nor retried) because it may have started"
            )
            output.note("shipway", message)
            await self._finish(active, _Outcome(StateType.CRASHED, message, retry=False))
            return
        try:
            resolution = resolve_run(record.run_request(), registry=self._registry)
        except ShipwayError as exc:
            await self._finish(
                active,
                _Outcome(StateType.CRASHED, f"{who} stopped; cannot follow the run: {exc}"),
            )
            return
        infrastructure = active.infrastructure = resolution.infrastructure
        active.job = resolution.job
        active.identifier = record.identifier
        cancelling = record.state is StateType.CANCELLING
        if not isinstance(infrastructure, ReattachesRuns):
            if cancelling:
                self._cancel(active)
            message = (
                f"{who} stopped watching the run and {infrastructure.type} runs cannot be "
                f"re-attached to: its outcome is unknown ({record.identifier} may still run; "
                "not retried, so that it never runs twice)"
            )
            output.note("shipway", message)
            await self._finish(
                active, _Outcome(StateType.CRASHED, message, record.identifier, retry=False)
            )
            return
        result: InfrastructureResult | None = None
        failure: InfrastructureError | None = None

        async def follow() -> None:
            nonlocal result, failure
            try:
                with output_sink(output):
                    result = await infrastructure.reattach(record.identifier or "")
            except InfrastructureError as exc:
                failure = exc

        async with anyio.create_task_group() as tg:
            tg.start_soon(follow)
            # One step for the follow to start: a run out of reach (another host) is
            # refused there and then, and must not be announced as followed.
            await anyio.sleep(0)
            if failure is None:
                output.note(
                    "shipway", f"agent {self.settings.name} follows the run again ({who} stopped)"
                )
                self._notice(f"re-attached to flow run {record.id} ({record.identifier})")
                if cancelling:
                    self._cancel(active)
        if failure is not None:
            if isinstance(failure, InfrastructureNotAvailable) and await self._hand_back(
                active, previous_agent, failure
            ):
                return
            cancelled = (active.cancelled or cancelling) and isinstance(
                failure, InfrastructureNotFound
            )
            state = StateType.CANCELLED if cancelled else StateType.CRASHED
            message = f"{who} stopped watching the run; {failure.message}"
            retry = True
            if isinstance(failure, InfrastructureNotAvailable):
                timeout = _seconds(self.settings.orphan_timeout)
                message = (
                    f"{who} stopped watching the run and no agent that can reach it took "
                    f"it over within {timeout}: {failure.message}; it may still be running "
                    "there (not retried, so that it never runs twice)"
                )
                retry = False
            output.note("shipway", message)
            await self._finish(active, _Outcome(state, message, record.identifier, retry=retry))
            return
        assert result is not None
        final = state_for_result(result, active.cancelled, output_location=output.location)
        await self._finish(active, _Outcome.of(final))

    async def _still_ours(self, active: _ActiveRun) -> bool:
        """A run found among this agent's own may have been handed back after the store
        answered (and its hand-back finished before the answer was read): ask again."""
        current = await self._calls(self.store.get_flow_run, active.record.id)
        if current.agent_id == self.id:
            return True
        active.handed_back = True  # another agent's now: not one that finished here
        return False

    async def _hand_back(
        self, active: _ActiveRun, previous_agent: str | None, failure: InfrastructureError
    ) -> bool:
        """Give a run this agent cannot reach back to the agent that left it, so that an
        agent that can reach it (restarted on its host) adopts it; False once it has
        waited long enough (or cannot be given back), and is to be marked Crashed."""
        record = active.record
        if previous_agent is None or previous_agent == self.id:
            return False
        previous = await self._calls(self.store.get_agent, previous_agent)
        if previous is None:
            return False
        gone_since = previous.stopped or previous.last_heartbeat
        if datetime.now(timezone.utc) - gone_since >= self.settings.orphan_timeout:
            return False
        await self._calls(self.store.adopt_run, record.id, previous_agent, self.id)
        active.handed_back = True
        if record.id not in self._unreachable:
            self._unreachable.add(record.id)
            self._notice(
                f"flow run {record.id} is out of this agent's reach ({failure.message}); "
                f"left for an agent that can reach it, or marked Crashed "
                f"{_seconds(self.settings.orphan_timeout)} after its agent went silent"
            )
        return True

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

    def _hook(self, active: _ActiveRun, state: State) -> None:
        if active.job is not None:
            self._registry.flow_run_state_changed(active.job, state)


def _seconds(delta: timedelta) -> str:
    return f"{delta.total_seconds():g} s"
