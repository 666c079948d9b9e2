"""Tracebacks that show the user's code: shipway's own frames (the flow and task
wrappers, retries, timeouts, the task pool) and the futures machinery are left out,
wherever they are in the chain, so a failed task reads from the flow to the ``raise``."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from types import TracebackType

__all__ = ["INTERNAL_CODE", "user_traceback"]

INTERNAL_CODE = (
    str(Path(__file__).resolve().parent),
    # the stdlib's concurrent.futures, found without importing it (the engine starts fast)
    str(Path(os.__file__).resolve().parent / "concurrent" / "futures"),
    "<frozen importlib.",
)


def user_traceback(tb: TracebackType | None) -> TracebackType | None:
    """``tb`` relinked without internal frames (all of it if nothing else is left)."""
    kept: list[TracebackType] = []
    current = tb
    while current is not None:
        if not current.tb_frame.f_code.co_filename.startswith(INTERNAL_CODE):
            kept.append(current)
        current = current.tb_next
    if not kept:
        return tb
    for earlier, later in itertools.pairwise(kept):
        earlier.tb_next = later
    kept[-1].tb_next = None
    return kept[0]
