"""Runs left behind: adopting the runs of agents that are gone, following a run again
(re-attaching) where the infrastructure allows it, handing a run this agent cannot reach
back for one that can, and marking Crashed what nobody can follow."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import anyio

from shipway.agent._base import ActiveRun, Outcome, seconds
from shipway.agent._logs import RunOutput
from shipway.agent._runs import RunLifecycle
from shipway.attempt import state_for_result
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
    resolve_secrets,
)
from shipway.secrets import SecretNotFound, secret_values
from shipway.states import StateType

__all__ = ["Recovery"]


class Recovery(RunLifecycle):
    """Reconcile orphaned runs and finish those this agent adopts."""

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
            started = time.monotonic()
            adopted = await self._calls(
                self.store.adopt_run, record.id, self.id, record.agent_id, lease=self.settings.lease
            )
            if adopted is not None:
                lease_until = self._lease_from(started)
                self._start(adopted, self._resume, record.agent_id, lease_until=lease_until)
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

    async def _resume(self, active: ActiveRun, previous_agent: str | None) -> None:
        """Finish a run another agent (or an earlier life of this one) left behind."""
        record = active.record
        if previous_agent == self.id and not await self._still_ours(active):
            return
        who = f"agent {previous_agent}" if previous_agent else "its agent"
        output = RunOutput(self._logs, record.id, record.attempt)
        if record.identifier is None:
            if record.state is StateType.CANCELLING:
                await self._finish(active, Outcome(StateType.CANCELLED, "cancelled", retry=False))
                return
            message = (
                f"{who} stopped before the run was recorded as started; it is not submitted "
                "again (nor retried) because it may have started"
            )
            output.note("shipway", message)
            await self._finish(active, Outcome(StateType.CRASHED, message, retry=False))
            return
        try:
            resolution = resolve_run(record.run_request(), registry=self._registry)
        except ShipwayError as exc:
            await self._finish(
                active,
                Outcome(StateType.CRASHED, f"{who} stopped; cannot follow the run: {exc}"),
            )
            return
        infrastructure = active.infrastructure = resolution.infrastructure
        active.job = resolution.job
        output.masker.hide(_secrets_to_mask(infrastructure))
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
                active, Outcome(StateType.CRASHED, message, record.identifier, retry=False)
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
            message = f"{who} stopped watching the run; {failure.one_line()}"
            retry = True
            if isinstance(failure, InfrastructureNotAvailable):
                timeout = seconds(self.settings.orphan_timeout)
                message = (
                    f"{who} stopped watching the run and no agent that can reach it took "
                    f"it over within {timeout}: {failure.message}; it may still be running "
                    "there (not retried, so that it never runs twice)"
                )
                retry = False
            output.note("shipway", message)
            await self._finish(active, Outcome(state, message, record.identifier, retry=retry))
            return
        assert result is not None
        final = state_for_result(result, active.cancelled, output_location=output.location)
        await self._finish(active, Outcome.of(final))

    async def _still_ours(self, active: ActiveRun) -> bool:
        """A run found among this agent's own may have been handed back after the store
        answered (and its hand-back finished before the answer was read): ask again."""
        current = await self._calls(self.store.get_flow_run, active.record.id)
        if current.agent_id == self.id:
            return True
        active.handed_back = True  # another agent's now: not one that finished here
        return False

    async def _hand_back(
        self, active: ActiveRun, previous_agent: str | None, failure: InfrastructureError
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
        await self._calls(self.store.hand_back_run, record.id, self.id, previous_agent)
        active.handed_back = True
        if record.id not in self._unreachable:
            self._unreachable.add(record.id)
            self._notice(
                f"flow run {record.id} is out of this agent's reach ({failure.message}); "
                f"left for an agent that can reach it, or marked Crashed "
                f"{seconds(self.settings.orphan_timeout)} after its agent went silent"
            )
        return True


def _secrets_to_mask(infrastructure: Infrastructure) -> frozenset[str]:
    """The secrets of a run followed again, to mask its output with (a reference that
    cannot be read now cannot be masked, but is no reason to stop following the run)."""
    try:
        return resolve_secrets(infrastructure).values
    except SecretNotFound:
        return frozenset(secret_values(infrastructure.model_dump()))
