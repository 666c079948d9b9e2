"""The store, as the commands open it, and waiting while it cannot be reached.

The run commands (``deployment run``, ``flow-run ...``, ``work-queue ...``, ``agent``)
open :func:`open_cli_store`: the database, or a shipway server's API when
``SHIPWAY_API_URL`` (or ``agent start --api``) names one; both answer the same
``StoreInterface``, so the commands print the same (masked) output either way. The
commands that manage the database itself open :func:`open_database_store`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import click

from shipway.cli._console import status
from shipway.errors import ShipwayError

if TYPE_CHECKING:
    from shipway.store import Store, StoreInterface

T = TypeVar("T")

# shipway.store.API_URL_VAR, without loading SQLAlchemy for a refusal.
_API_URL_VAR = "SHIPWAY_API_URL"


def open_cli_store(
    *, wait: bool = False, create: bool = True, api_url: str | None = None
) -> StoreInterface:
    """The shipway server at ``api_url`` (default ``$SHIPWAY_API_URL``) when one is
    given, else the database (see :func:`open_database_store`)."""
    url = api_url or os.environ.get(_API_URL_VAR, "").strip()
    if url:
        from shipway.store import RemoteStore

        return RemoteStore(url)
    return open_database_store(wait=wait, create=create)


def require_database() -> None:
    """Refuse, in one message, to run a command that works on the database itself
    (``deployment apply``) while ``SHIPWAY_API_URL`` points at a server."""
    if os.environ.get(_API_URL_VAR, "").strip():
        context = click.get_current_context(silent=True)
        command = context.command_path if context is not None else "this command"
        raise ShipwayError(
            f"`{command}` writes to the database itself, not through a shipway server "
            f"({_API_URL_VAR} is set)",
            hint=f"Run it where the database is reachable, with {_API_URL_VAR} unset "
            "(SHIPWAY_DATABASE_URL, or the SQLite file under SHIPWAY_HOME).",
        )


def open_database_store(*, wait: bool = False, create: bool = True) -> Store:
    """The database; with ``wait``, a long-running command (an agent) waits for an
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
