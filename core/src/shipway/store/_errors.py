"""Errors raised by the store: what the user (or the agent) can act on."""

from __future__ import annotations

from shipway.errors import DeploymentNotFound, ShipwayError
from shipway.exit_status import ExitStatus

__all__ = [
    "FlowRunNotFound",
    "StateConflict",
    "StoreError",
    "StoreFailed",
    "StoreNotFound",
    "StoreNotWritable",
    "StoreRefused",
    "StoreUnavailable",
    "StoredDeploymentNotFound",
]


class StoreError(ShipwayError):
    """Something about the store (the run history database) went wrong."""


class StoreUnavailable(StoreError):
    """The database cannot be reached right now (refused, lost, locked too long).

    Retryable: the agent keeps its buffered states and logs and tries again."""

    exit_code = ExitStatus.CANNOT_START


class StoreRefused(StoreError):
    """The database server answers but refuses the URL: no such database or user, a wrong
    password. Waiting will not fix it, so a command stops at once (a running agent,
    which must not lose its runs, still retries it)."""


class StoreNotWritable(StoreRefused):
    """The store cannot be opened or written: a SQLite file or folder that is read-only,
    on a full disk, or not a database; a PostgreSQL user without the right to write.
    Like a refused URL, a command (and an agent that starts) stops at once, exit 2,
    rather than waiting; an agent already running keeps retrying."""


class StoreNotFound(StoreError):
    """A command that only reads found no store where the URL points (a mistyped path or
    database): it never creates one."""


class StoreFailed(StoreError):
    """The database refused a statement for a reason shipway did not expect (a bug, or a
    trigger or permission of the database's own). The message says which statement and
    why, never the values it carried (they may be secrets)."""

    exit_code = ExitStatus.FAILED


class StoredDeploymentNotFound(StoreError, DeploymentNotFound):
    """No deployment of that name was applied to the store (a file's missing deployment
    is the base class, ``shipway.errors.DeploymentNotFound``)."""


class FlowRunNotFound(StoreError):
    """No flow run has that id (or the prefix matches none, or several)."""


class StateConflict(StoreError):
    """The run is not in a state that allows the change (someone else moved it first)."""
