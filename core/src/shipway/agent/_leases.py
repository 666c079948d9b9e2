"""Run leases: an agent holds each run it claims or adopts for a while (its lease), and
renews the leases with every heartbeat. Another agent adopts a run only once its lease
has expired, and an agent whose lease on a run lapsed (it could not renew it, e.g. the
database was away for longer) asks the store before it writes that run's state again:
if another agent has taken the run over meanwhile, it stops writing and says so.

Times here are this process's monotonic clock, counted from the start of the store call
that set a lease, so the agent's idea of a lease never outlasts the store's."""

from __future__ import annotations

import time

from shipway.agent._base import ActiveRun, AgentBase, seconds
from shipway.agent._logs import RunOutput
from shipway.store import FlowRunRecord

__all__ = ["Leases"]


class Leases(AgentBase):
    """Keep, renew and check this agent's leases on its runs."""

    def _lease_from(self, started: float) -> float:
        """Until when a lease set by a call that started at ``started`` holds, here."""
        return started + self.settings.lease.total_seconds()

    async def _renew_leases(self) -> None:
        """Extend the lease on every live run this agent holds (with each heartbeat)."""
        assert self.id is not None
        started = time.monotonic()
        held = set(await self._calls(self.store.renew_leases, self.id, self.settings.lease))
        for run_id, active in list(self._active.items()):
            if run_id in held:
                active.lease_until = self._lease_from(started)

    async def _holds_lease(self, active: ActiveRun) -> bool:
        """May this agent write the run's state? Yes while its lease holds; once it has
        lapsed, only if the store still has the run as this agent's (the lease is then
        renewed). Otherwise another agent took the run over: say so, and write no more."""
        if active.lease_lost:
            return False
        if time.monotonic() < active.lease_until:
            return True
        assert self.id is not None
        started = time.monotonic()
        held = await self._calls(
            self.store.renew_leases, self.id, self.settings.lease, [active.record.id]
        )
        if active.record.id in held:
            active.lease_until = self._lease_from(started)
            return True
        self._lease_lost(active, await self._calls(self.store.get_flow_run, active.record.id))
        return False

    def _lease_lost(self, active: ActiveRun, current: FlowRunRecord) -> None:
        """The run is no longer this agent's: it stops writing its state, and says why."""
        if active.lease_lost:
            return
        active.lease_lost = True
        holder = f"agent {current.agent_id}" if current.agent_id else "no agent"
        message = (
            f"agent {self.settings.name} lost its lease on the run (not renewed within "
            f"{seconds(self.settings.lease)}, e.g. while the store was unreachable) and the "
            f"run is now {current.state.value}, held by {holder}: this agent no longer "
            "records its state"
        )
        self._notice(f"flow run {active.record.id}: {message}")
        RunOutput(self._logs, active.record.id, active.record.attempt).note("shipway", message)
