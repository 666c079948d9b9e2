"""One run on this agent, from its claim to its recorded end: tracked while it runs,
resolved and run as one :class:`~shipway.attempt.Attempt`, and each state it reaches
kept in the store (with its next attempt, when it has retries left)."""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone

from shipway.agent._base import LIVE_STATES, RETRIED_STATES, ActiveRun, Outcome, log
from shipway.agent._leases import Leases
from shipway.agent._logs import RunOutput
from shipway.attempt import Attempt, AttemptReporting
from shipway.deployments import resolve_run
from shipway.errors import ShipwayError
from shipway.states import State, StateType
from shipway.store import FlowRunRecord, Retry, StateChange, StateConflict

__all__ = ["RunLifecycle"]


class RunLifecycle(Leases):
    """Start, run and record the runs this agent takes."""

    def _start(
        self,
        record: FlowRunRecord,
        work: Callable[..., Awaitable[None]],
        *args: object,
        lease_until: float = 0.0,
    ) -> None:
        """Track the run at once (no await before): a slot is taken, and a later
        reconciliation sees the run as watched. ``lease_until``: see ``_leases``."""
        assert self._runs is not None
        active = ActiveRun(record, lease_until=lease_until)
        self._active[record.id] = active
        self._runs.start_soon(self._guarded, active, work, *args)

    async def _guarded(
        self, active: ActiveRun, work: Callable[..., Awaitable[None]], *args: object
    ) -> None:
        try:
            await work(active, *args)
        except Exception as exc:  # a bug: the run must still end somewhere
            log.exception("agent error on flow run %s", active.record.id)
            with contextlib.suppress(Exception):
                await self._finish(
                    active,
                    Outcome(
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

    async def _execute(self, active: ActiveRun) -> None:
        record = active.record
        output = RunOutput(self._logs, record.id, record.attempt)
        try:
            resolution = resolve_run(record.run_request(), registry=self._registry)
        except ShipwayError as exc:
            output.note("shipway", f"cannot submit the flow run: {exc}")
            await self._finish(
                active, Outcome(StateType.FAILED, f"cannot submit: {exc}", retry=False)
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
                masker=output.masker,  # the attempt adds the run's secrets to it
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

    async def _write_state(self, active: ActiveRun, output: RunOutput, state: State) -> bool:
        """Keep an attempt's state in the store (see ``AttemptReporting.write_state``)."""
        if state.type is StateType.PENDING:
            return True  # the claim recorded it
        if state.type is StateType.RUNNING:
            assert state.identifier is not None
            active.identifier = state.identifier
            return await self._mark_running(active, state.identifier)
        if state.type is StateType.CRASHED and state.result is None:
            output.note("shipway", f"the infrastructure failed: {state.message}")
        return await self._record_final(active, Outcome.of(state))

    async def _mark_running(self, active: ActiveRun, identifier: str) -> bool:
        record = active.record
        if not await self._holds_lease(active):
            return False
        try:
            await self._calls(
                self.store.set_state,
                record.id,
                StateChange(StateType.RUNNING, identifier=identifier),
                expected=(StateType.PENDING,),
                owner=self.id,
            )
        except StateConflict:
            current = await self._calls(self.store.get_flow_run, record.id)
            if current.agent_id != self.id:  # taken over since the lease was checked
                self._lease_lost(active, current)
                return False
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

    async def _finish(self, active: ActiveRun, outcome: Outcome) -> None:
        """End a run that no attempt ran to its end: record it, then tell the observers."""
        if await self._record_final(active, outcome):
            self._hook(active, State(outcome.state, outcome.message, identifier=outcome.identifier))

    async def _record_final(self, active: ActiveRun, outcome: Outcome) -> bool:
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
        if not await self._holds_lease(active):
            return False
        try:
            stored = await self._calls(
                self.store.set_state, record.id, change, expected=LIVE_STATES, owner=self.id
            )
            retry = stored.attempt > record.attempt  # not when its cancellation was asked
        except StateConflict:
            current = await self._calls(self.store.get_flow_run, record.id)
            if current.attempt == record.attempt and current.agent_id != self.id:
                self._lease_lost(active, current)  # taken over since the lease was checked
                return False
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
