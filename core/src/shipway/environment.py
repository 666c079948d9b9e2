"""The environment variables that switch shipway's behaviour, and how a flag is read.

One home, so that ``SHIPWAY_DEBUG=yes`` means the same to the CLI, the engine and the
plugin registry: a flag is on when its value is ``1``, ``true``, ``yes`` or ``on`` (any case).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["DEBUG_VAR", "flag_is_set"]

DEBUG_VAR = "SHIPWAY_DEBUG"
"""Show tracebacks: set by ``--debug`` and passed on to the engine by ``shipway run``."""

_TRUTHY = frozenset({"1", "true", "yes", "on"})


def flag_is_set(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the flag variable ``name`` is on in ``environ`` (default: this process's)."""
    value = (os.environ if environ is None else environ).get(name, "")
    return value.strip().lower() in _TRUTHY
