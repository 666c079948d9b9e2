"""The environment variables that switch shipway's behaviour, how a flag is read, and
where shipway keeps its files.

One home, so that ``SHIPWAY_DEBUG=yes`` means the same to the CLI, the engine and the
plugin registry: a flag is on when its value is ``1``, ``true``, ``yes`` or ``on`` (any case).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "DEBUG_VAR",
    "HOME_VAR",
    "LOG_LEVEL_VAR",
    "TASK_WORKERS_VAR",
    "flag_is_set",
    "shipway_home",
]

DEBUG_VAR = "SHIPWAY_DEBUG"
"""Show tracebacks: set by ``--debug`` and passed on to the engine by ``shipway run``."""

HOME_VAR = "SHIPWAY_HOME"
"""The folder of shipway's own files: the SQLite store, the secret key, secret files."""

LOG_LEVEL_VAR = "SHIPWAY_LOG_LEVEL"
"""The level of the run logger (``get_run_logger()``): debug, info (default), warning, ..."""

TASK_WORKERS_VAR = "SHIPWAY_TASK_WORKERS"
"""How many submitted tasks of one flow run run at once (``.submit()``, ``.map()``); default 16."""

_TRUTHY = frozenset({"1", "true", "yes", "on"})


def flag_is_set(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the flag variable ``name`` is on in ``environ`` (default: this process's)."""
    value = (os.environ if environ is None else environ).get(name, "")
    return value.strip().lower() in _TRUTHY


def shipway_home() -> Path:
    """``$SHIPWAY_HOME``, default ``~/.shipway`` (not created here)."""
    value = os.environ.get(HOME_VAR)
    return Path(value).expanduser() if value else Path.home() / ".shipway"
