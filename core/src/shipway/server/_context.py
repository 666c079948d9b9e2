"""What every route reaches through its request: the settings, the store (opened once
per app) and the way to call the store without blocking the event loop.

The store is synchronous (SQLAlchemy); :meth:`ServerContext.call` runs a store call in a
worker thread under a limiter of the server's own, so that slow queries never take every
thread anyio has and never stall other requests or the live log streams.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import threading
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.to_thread
from starlette.requests import HTTPConnection

from shipway.server._auth import Auth
from shipway.server._settings import ServerSettings
from shipway.store import Store, open_store

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = ["ServerContext", "lifespan", "server_context"]

T = TypeVar("T")


@dataclasses.dataclass
class ServerContext:
    settings: ServerSettings
    auth: Auth
    store: Store
    limiter: anyio.CapacityLimiter
    stopping: threading.Event
    """Set when the server begins to shut down (Ctrl-C, or the app's lifespan ends):
    long-lived responses such as log streams end at once, so that shutdown never waits
    for a browser to go away. Safe to set from a signal handler or another thread."""

    async def call(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``function(*args, **kwargs)`` in a worker thread (a store call)."""
        return await anyio.to_thread.run_sync(
            functools.partial(function, *args, **kwargs), limiter=self.limiter
        )


def server_context(connection: HTTPConnection) -> ServerContext:
    """The context of the app serving this request."""
    context = getattr(connection.app.state, "shipway", None)
    if not isinstance(context, ServerContext):
        raise RuntimeError("the server is not started (its lifespan did not run)")
    return context


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """Open the store (creating and migrating it, as every command does) once, and close
    it when the server stops."""
    settings: ServerSettings = app.state.settings
    auth: Auth = app.state.auth
    store = await anyio.to_thread.run_sync(functools.partial(open_store, settings.store_url))
    context = ServerContext(
        settings=settings,
        auth=auth,
        store=store,
        limiter=anyio.CapacityLimiter(settings.store_threads),
        stopping=threading.Event(),
    )
    app.state.shipway = context
    try:
        yield
    finally:
        context.stopping.set()
        del app.state.shipway
        store.close()
