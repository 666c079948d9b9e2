"""``timeout_seconds`` of flows and tasks: the call ends with ``TimeoutError``.

Python cannot stop a thread from outside. In the main thread (where the engine runs the
flow) a timer signal interrupts the code wherever it is; elsewhere the call runs in a
daemon thread that is abandoned when time is up (it ends with the process)."""

from __future__ import annotations

import contextlib
import contextvars
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, TypeVar

__all__ = ["call_with_timeout", "check_timeout"]

R = TypeVar("R")


def check_timeout(owner: str, seconds: float | None) -> float | None:
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
        raise ValueError(f"{owner}: timeout_seconds must be seconds > 0, not {seconds!r}")
    return float(seconds)


def call_with_timeout(call: Callable[[], R], seconds: float | None, message: str) -> R:
    if seconds is None:
        return call()
    import threading  # only calls with a timeout pay for it

    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        with _alarm(seconds, message):
            return call()
    return _in_thread(call, seconds, message)


def _in_thread(call: Callable[[], R], seconds: float, message: str) -> R:
    import threading

    outcome: dict[str, Any] = {}
    context = contextvars.copy_context()

    def target() -> None:
        try:
            outcome["result"] = context.run(call)
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="shipway-timeout", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError(message)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]  # type: ignore[no-any-return]


@dataclass(eq=False)
class _Deadline:
    at: float
    message: str
    fired: bool = field(default=False)


_deadlines: list[_Deadline] = []
_previous_handler: list[Any] = []


def _pending() -> list[_Deadline]:
    return [d for d in _deadlines if not d.fired]


def _arm() -> None:
    pending = _pending()
    delay = max(min(d.at for d in pending) - time.monotonic(), 0.001) if pending else 0.0
    signal.setitimer(signal.ITIMER_REAL, delay)


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    expired = [d for d in _pending() if d.at <= time.monotonic() + 0.001]
    if not expired:
        _arm()
        return
    first = min(expired, key=lambda d: d.at)  # a subflow's or its parent's, whichever is first
    first.fired = True
    _arm()
    raise TimeoutError(first.message)


@contextlib.contextmanager
def _alarm(seconds: float, message: str) -> Iterator[None]:
    """Deadlines nest (a subflow with a timeout inside a flow with one): one timer, set
    for the earliest."""
    deadline = _Deadline(time.monotonic() + seconds, message)
    if not _deadlines:
        _previous_handler.append(signal.signal(signal.SIGALRM, _on_alarm))
    _deadlines.append(deadline)
    _arm()
    try:
        yield
    finally:
        _deadlines.remove(deadline)
        _arm()
        if not _deadlines:
            signal.signal(signal.SIGALRM, _previous_handler.pop() or signal.SIG_DFL)
