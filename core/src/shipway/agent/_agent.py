"""The agent: claim due flow runs from the store, run them on their infrastructure,
and keep their states and logs in the store, whatever happens to the database or to
the agent before it. This module starts and stops it; the layers below do the work
(see ``_base``)."""

from __future__ import annotations

import signal
from datetime import datetime, timezone

import anyio

from shipway.agent._polling import Polling
from shipway.agent._settings import AgentSettings, RunEvent
from shipway.errors import ShipwayError

__all__ = ["Agent", "AgentSettings", "RunEvent"]


class Agent(Polling):
    """Poll the store and run what is due. ``await agent.run()`` returns when the agent
    has stopped (a signal, or ``run_once`` and nothing left) and has deregistered."""

    def stop(self, force: bool = False, *, because: str | None = None) -> None:
        """Stop claiming and finish the running runs; ``force``: kill them (Cancelled).

        The agent says it has stopped claiming (naming ``because``, e.g. the signal) only
        once its polling loop has, a claim under way included: from that moment on no new
        run is taken."""
        if force:
            self._forced = True
            for active in list(self._active.values()):
                self._cancel(active)
        if not self._stopping:
            self._stop_reason = because
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        self._registry.load_observers()
        settings = self.settings
        self._types = self._resolvable_types()
        # At start a store that refuses (a wrong URL, a read-only file) stops the agent;
        # one that cannot be reached is waited for, unless it is to run once.
        register = self._calls.once if settings.run_once else self._calls.reachable
        record = await register(
            self.store.register_agent,
            settings.name,
            list(settings.queues),
            settings.limit,
            self._types,
        )
        self.id = record.id
        self._started_at = datetime.now(timezone.utc)
        try:
            async with anyio.create_task_group() as services:
                await services.start(self._listen_for_wakeups)
                self._notice(
                    f"agent {settings.name!r} ({record.id}) polling "
                    f"{', '.join(settings.queues) or 'every queue'} on {self.store.url} "
                    f"(limit {settings.limit}, every {settings.poll_interval:g} s, and "
                    f"woken by the store; infrastructure: {', '.join(self._types) or 'none'})"
                )
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

    def _resolvable_types(self) -> list[str]:
        """The infrastructure types this agent can run: it claims only their runs, and
        leaves the others to agents that have their plugin."""
        types = []
        for name in self._registry.installed_type_names():
            try:
                self._registry.resolve(name)
            except ShipwayError as exc:
                self._notice(
                    f"infrastructure {name!r} is not available here ({exc.message}); "
                    "its runs are left to other agents"
                )
            else:
                types.append(name)
        return types

    async def _watch_signals(self) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                name = signal.Signals(signum).name
                if not self._stopping:
                    self.stop(because=name)  # the polling loop says so once it stopped claiming
                else:
                    self._notice(f"{name} again: cancelling {len(self._active)} run(s)")
                    self.stop(force=True)

    async def _heartbeats(self) -> None:
        assert self.id is not None
        while True:
            await anyio.sleep(self.settings.heartbeat_interval)
            await self._calls(self.store.heartbeat, self.id)
            await self._renew_leases()
