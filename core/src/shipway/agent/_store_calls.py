"""Every store call the agent makes goes through here: off the event loop, and
retried for as long as the database is unreachable."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from shipway.store import StoreRefused, StoreUnavailable

__all__ = ["StoreCalls"]

T = TypeVar("T")

log = logging.getLogger("shipway.agent")

FIRST_BACKOFF_SECONDS = 0.2
MAX_BACKOFF_SECONDS = 5.0


class StoreCalls:
    """Run synchronous store methods in worker threads.

    A :class:`StoreUnavailable` is never an agent's end: the call waits (capped
    exponential backoff) and tries again, so the caller simply awaits longer while
    its state change or log batch stays in memory. One warning per outage. So is a
    :class:`StoreRefused` once the agent is running (a role or pg_hba.conf being fixed
    must not cost the runs under way); at start it stops the agent, see :meth:`reachable`
    and :meth:`once`.
    """

    def __init__(self, *, max_backoff: float = MAX_BACKOFF_SECONDS) -> None:
        self._max_backoff = max_backoff
        self._outage = False

    async def __call__(self, method: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        return await self._retrying((StoreUnavailable, StoreRefused), method, *args, **kwargs)

    async def reachable(self, method: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Wait for an unreachable store, not for one that refuses (a wrong URL, a
        read-only file): as an agent starts, that is a mistake to report at once."""
        return await self._retrying((StoreUnavailable,), method, *args, **kwargs)

    async def _retrying(
        self,
        retried: tuple[type[Exception], ...],
        method: Callable[..., T],
        /,
        *args: Any,
        **kwargs: Any,
    ) -> T:
        delay = FIRST_BACKOFF_SECONDS
        while True:
            try:
                value = await anyio.to_thread.run_sync(functools.partial(method, *args, **kwargs))
            except retried as exc:
                if not self._outage:
                    self._outage = True
                    log.warning(
                        "the store is unreachable (%s); retrying every %.0f s at most, "
                        "runs keep going and their states and logs are kept until it is back",
                        exc,
                        self._max_backoff,
                    )
                await anyio.sleep(delay)
                delay = min(delay * 2, self._max_backoff)
                continue
            if self._outage:
                self._outage = False
                log.warning("the store is reachable again")
            return value

    async def once(self, method: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """One attempt, no retry: for a start-up that should fail fast."""
        return await anyio.to_thread.run_sync(functools.partial(method, *args, **kwargs))
