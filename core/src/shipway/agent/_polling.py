"""The polling loop: every poll interval (and at once when a run ends, or when the store
wakes the agent) look for cancellation requests, reconcile orphaned runs, create
scheduled runs and claim due runs for the free slots."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import anyio
from anyio.abc import TaskStatus

from shipway.agent._base import log
from shipway.agent._recovery import Recovery
from shipway.states import StateType
from shipway.store import Wakeup, WakeupSource

__all__ = ["Polling"]

_LISTEN_START_SECONDS = 5.0


class Polling(Recovery):
    """Claim and watch runs until the agent stops."""

    async def _poll(self) -> None:
        settings = self.settings
        claim_until = self._started_at if settings.run_once else None
        next_reconcile = 0.0
        while True:
            # A run ending wakes the loop at once to fill its slot, and so does the store
            # (a new event before the work, so a wake-up during the work is not missed);
            # cancellation requests are looked for once per poll interval however often
            # that happens, or at once when the store says one was asked for.
            self._wake = anyio.Event()
            if time.monotonic() >= self._next_cancellation_check:
                self._next_cancellation_check = time.monotonic() + settings.poll_interval
                await self._handle_cancellations()
            if self._stopping:
                # No claim is under way here: from now on none is made, so say so.
                self._acknowledge_stop()
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

    async def _listen_for_wakeups(self, *, task_status: TaskStatus[None]) -> None:
        """Wake the loop as soon as the store says there is work (the poll stays the
        fallback: a listener that fails leaves the agent polling). Started once it
        listens, or after a few seconds without (the store is slow to answer)."""
        store = self.store
        if not isinstance(store, WakeupSource):  # it cannot wake us: poll only
            task_status.started()
            return
        started = False
        try:
            async with store.listen() as listener:
                with anyio.move_on_after(_LISTEN_START_SECONDS):
                    await listener.listening.wait()
                task_status.started()
                started = True
                while True:
                    wakeups = await listener.wait()
                    if Wakeup.CANCELLATION in wakeups:
                        self._next_cancellation_check = 0.0
                    if Wakeup.SCHEDULE in wakeups:
                        self._last_schedule = 0.0
                    self._wake.set()
        except Exception:
            log.warning("stopped listening for wake-ups: polling only", exc_info=True)
            if not started:
                task_status.started()

    def _acknowledge_stop(self) -> None:
        if self._stop_acknowledged:
            return
        self._stop_acknowledged = True
        waiting = f"waiting for {len(self._active)} running run(s) to finish"
        if self._stop_reason is None:
            self._notice(f"stopping: no new runs; {waiting}")
        else:
            self._notice(
                f"{self._stop_reason}: no new runs; {waiting} (signal again to cancel them)"
            )

    async def _claim(self, now: datetime | None) -> int:
        free = self.settings.limit - len(self._active)
        if free <= 0 or self._stopping:  # asked to stop while reconciling or scheduling
            return 0
        assert self.id is not None
        started = time.monotonic()
        records = await self._calls(
            self.store.claim_runs,
            self.id,
            list(self.settings.queues),
            free,
            now=now,
            infrastructure_types=self._types,
            lease=self.settings.lease,
        )
        if self._stopping:  # asked to stop while claiming: run them all the same
            log.debug("claimed %d run(s) while stopping", len(records))
        for record in records:
            self._event(record, StateType.PENDING, "claimed")
            self._start(record, self._execute, lease_until=self._lease_from(started))
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

    async def _handle_cancellations(self) -> None:
        assert self.id is not None
        requested = await self._calls(self.store.runs_of_agent, self.id, (StateType.CANCELLING,))
        for record in requested:
            active = self._active.get(record.id)
            if active is not None:
                self._cancel(active)
            elif self._is_new(record):  # ours, but nobody watches it
                self._start(record, self._resume, record.agent_id)
