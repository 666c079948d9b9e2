"""The store, as the commands open it, and waiting while it cannot be reached."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from shipway.cli._console import status

if TYPE_CHECKING:
    from shipway.store import Store

T = TypeVar("T")


def open_cli_store(*, wait: bool = False, create: bool = True) -> Store:
    """The store; with ``wait``, a long-running command (an agent) waits for an
    unreachable database to come up; ``create=False`` for commands that only read: they
    never create a store."""
    # Here, not at the top: shipway.store loads SQLAlchemy (about 0.2 s), which the
    # commands that read only a file (`deployment ls -f`, `deployment inspect`) never
    # need, although their modules hold store commands too.
    from shipway.store import StoreUnavailable, open_store

    delay = 0.5
    while True:
        try:
            return open_store(create=create)
        except StoreUnavailable as exc:
            if not wait:
                raise
            status(f"the store is unreachable ({exc}); retrying in {delay:g} s", fg="yellow")
            time.sleep(delay)
            delay = min(delay * 2, 10.0)


def retry_unavailable(call: Callable[[], T], *, poll: float) -> T:
    """Call; while the store cannot be reached, say so once and try again (a watch
    survives a database restart)."""
    from shipway.store import StoreUnavailable  # loaded already: the store is open

    warned = False
    while True:
        try:
            result = call()
        except StoreUnavailable as exc:
            if not warned:
                status(f"Warning: {exc.message}; retrying...", fg="yellow")
                warned = True
            time.sleep(max(poll, 1.0))
            continue
        if warned:
            status("The store is reachable again.", dim=True)
        return result
