"""Wake-ups through PostgreSQL: the store's write transactions ``NOTIFY`` (delivered when
they commit), and each agent ``LISTEN``s on a connection of its own (psycopg 3, async),
connecting again whenever it is lost."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator

import anyio
import sqlalchemy as sa

from shipway.store._wakeups import ALL_WAKEUPS, Inbox, Wakeup, WakeupListener, log, receiving

__all__ = ["CHANNEL", "notify_statement", "postgres_listener"]

CHANNEL = "shipway_wakeup"
# A quiet connection is checked this often: a dead one raises, and is replaced.
_CHECK_SECONDS = 30.0
_FIRST_BACKOFF_SECONDS = 0.5
_MAX_BACKOFF_SECONDS = 10.0
_CONNECT_TIMEOUT_SECONDS = 5


def notify_statement(wakeups: frozenset[Wakeup]) -> sa.Select[tuple[str]]:
    return sa.select(sa.func.pg_notify(CHANNEL, Wakeup.join(wakeups)))


@contextlib.asynccontextmanager
async def postgres_listener(url: sa.URL) -> AsyncIterator[WakeupListener]:
    """Listen on ``CHANNEL`` of the database at ``url`` until the block ends."""
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    async with receiving(functools.partial(_listen, conninfo)) as listener:
        yield listener


async def _listen(conninfo: str, inbox: Inbox) -> None:
    import psycopg  # only agents on PostgreSQL need it, and the store has it already

    delay = _FIRST_BACKOFF_SECONDS
    connected_before = False
    while True:
        try:
            connection = await psycopg.AsyncConnection.connect(
                conninfo, autocommit=True, connect_timeout=_CONNECT_TIMEOUT_SECONDS
            )
            async with connection:
                await connection.execute(f"LISTEN {CHANNEL}")
                inbox.listening.set()
                if connected_before:
                    log.info("listening for wake-ups again")
                    inbox.deliver(ALL_WAKEUPS)  # some may have come while disconnected
                connected_before, delay = True, _FIRST_BACKOFF_SECONDS
                while True:
                    async for notification in connection.notifies(timeout=_CHECK_SECONDS):
                        inbox.deliver(Wakeup.parse(notification.payload))
                    await connection.execute("SELECT 1")
        except psycopg.Error as exc:
            log.warning(
                "cannot listen for wake-ups (%s): polling until it can, trying again in %g s",
                str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                delay,
            )
            await anyio.sleep(delay)
            delay = min(delay * 2, _MAX_BACKOFF_SECONDS)
