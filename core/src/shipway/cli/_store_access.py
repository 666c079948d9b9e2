"""The store, as the commands open it, and waiting while it cannot be reached."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from shipway.store import Store

T = TypeVar("T")


def open_cli_store() -> Store:
    from shipway.store import open_store

    return open_store()


def retry_unavailable(call: Callable[[], T], *, poll: float) -> T:
    """Call; while the store cannot be reached, say so once and try again (a watch
    survives a database restart)."""
    from shipway.cli._console import status
    from shipway.store import StoreUnavailable

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
