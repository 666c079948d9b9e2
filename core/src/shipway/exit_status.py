"""The exit statuses of the engine and of ``shipway``, in one enum.

The engine exits with them, infrastructure plugins report them back, and the CLI exits
with the run's (``shipway run``, ``deployment run --watch``) or with its own when it
stops early. Scripts can rely on them; docs/cli.md lists them for users.

``shipway migrate`` keeps the convention of code formatters instead (black, ruff
format): 1 means "with --check, a file would change", 2 "a path could not be migrated".
"""

from __future__ import annotations

import enum

__all__ = ["ExitStatus", "shell_exit_status"]


class ExitStatus(enum.IntEnum):
    """What a run's, or a command's, exit status means.

    ==============  =====  ==========================================================
    COMPLETED       0      The flow completed.
    FAILED          1      The flow raised (its traceback was printed); also an
                           unexpected error in shipway or a plugin (a bug).
    USER_ERROR      2      A mistake to fix, found before anything ran: one message,
                           no traceback (``ShipwayError``).
    CANNOT_START    3      Nothing ran: the flow run could not start (its entrypoint,
                           its module or its parameters), or the store could not be
                           reached. Trying again later may work.
    CANCELLED       130    Cancelled, or stopped with Ctrl-C (128 + SIGINT).
    TERMINATED      143    The engine received SIGTERM (128 + SIGTERM); the flow's
                           ``finally`` blocks ran first.
    ==============  =====  ==========================================================
    """

    COMPLETED = 0
    FAILED = 1
    USER_ERROR = 2
    CANNOT_START = 3
    CANCELLED = 130
    TERMINATED = 143


def shell_exit_status(code: int) -> int:
    """A run's exit status as a shell shows it: a signal N (negative, as ``subprocess``
    reports it) becomes 128+N, and a status the shell would truncate becomes 1."""
    if code < 0:
        return 128 - code
    return code if code < 256 else ExitStatus.FAILED
