"""Wake-ups: a store tells the agents listening to it that there is new work, so that a
run starts at once instead of at the agent's next poll.

The interface is small on purpose, for every kind of store to offer it (SQLite through
Unix sockets, PostgreSQL through LISTEN/NOTIFY, a remote store over its API): the store
opens a :class:`WakeupListener` (``async with store.listen() as listener``) and the agent
awaits :meth:`WakeupListener.wait`, which says why it woke. A wake-up is a hint, never a
promise: one can be lost (a full socket buffer, a dropped connection), so agents keep
polling as well, only less urgently.
"""

from __future__ import annotations

import contextlib
import enum
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Protocol, runtime_checkable

import anyio

__all__ = ["ALL_WAKEUPS", "Inbox", "Wakeup", "WakeupListener", "WakeupSource", "receiving"]

log = logging.getLogger("shipway.store")


class Wakeup(enum.Enum):
    """Why an agent should look at the store now."""

    RUN_CREATED = "run"
    """A run was created (or scheduled again) that may be due now: claim."""
    CANCELLATION = "cancel"
    """A run's cancellation was asked for: look for the runs to stop."""
    SCHEDULE = "schedule"
    """A deployment's schedule changed: create its runs."""

    @classmethod
    def parse(cls, text: str) -> frozenset[Wakeup]:
        """The wake-ups named in ``text`` (comma-separated); an unknown name (a newer
        writer) wakes for everything rather than for nothing."""
        known = {wakeup.value: wakeup for wakeup in cls}
        names = [name for name in text.split(",") if name]
        if any(name not in known for name in names):
            return ALL_WAKEUPS
        return frozenset(known[name] for name in names)

    @staticmethod
    def join(wakeups: frozenset[Wakeup] | set[Wakeup]) -> str:
        return ",".join(sorted(wakeup.value for wakeup in wakeups))


ALL_WAKEUPS = frozenset(Wakeup)
"""What a listener reports when it may have missed some: after it (re)connects."""


class WakeupListener(Protocol):
    """What an agent awaits. Opened by ``Store.listen()`` as an async context manager."""

    listening: anyio.Event
    """Set once wake-ups can arrive (e.g. the connection made): an agent waits for it,
    a little, before its first poll, so that nothing created after is missed."""

    async def wait(self) -> frozenset[Wakeup]:
        """Return when woken, with every reason gathered since the last call (never
        empty). A listener that cannot listen (no socket, no connection) just waits
        longer: the agent's poll is the fallback."""
        ...


@runtime_checkable
class WakeupSource(Protocol):
    """A store that can wake agents (``Store`` can; a store that cannot, such as
    ``RemoteStore`` today, leaves its agents polling): a protocol of its own, beside
    ``StoreInterface``, since a wake-up is not a request and an answer."""

    def listen(self) -> contextlib.AbstractAsyncContextManager[WakeupListener]: ...


class Inbox:
    """The part every listener shares: reasons delivered by its receiving task, gathered
    until the agent asks for them."""

    def __init__(self) -> None:
        self._pending: set[Wakeup] = set()
        self._arrived = anyio.Event()
        self.listening = anyio.Event()

    def deliver(self, wakeups: frozenset[Wakeup]) -> None:
        if wakeups:
            self._pending |= wakeups
            self._arrived.set()

    async def wait(self) -> frozenset[Wakeup]:
        await self._arrived.wait()
        self._arrived = anyio.Event()
        wakeups, self._pending = frozenset(self._pending), set()
        return wakeups


@contextlib.asynccontextmanager
async def receiving(
    receive: Callable[[Inbox], Coroutine[object, object, None]],
) -> AsyncIterator[WakeupListener]:
    """A listener whose inbox ``receive`` fills, in a task that runs until the block ends."""
    inbox = Inbox()
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(receive, inbox)
        try:
            yield inbox
        finally:
            tasks.cancel_scope.cancel()
