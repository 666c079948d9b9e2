"""Waiting between retries of API calls that failed in a way worth retrying."""

from __future__ import annotations

import threading
import time

__all__ = ["Backoff"]


class Backoff:
    """Exponential waits between retries, and a deadline counted from the first failure
    of a row (a success resets it)."""

    def __init__(self, give_up_after: float, stop: threading.Event) -> None:
        self._give_up_after = give_up_after
        self._stop = stop
        self._since: float | None = None
        self._delay = 0.2

    def reset(self) -> None:
        self._since = None
        self._delay = 0.2

    def wait(self) -> bool:
        """Sleep before the next try; False when it is time to give up (or stop)."""
        now = time.monotonic()
        if self._since is None:
            self._since = now
        if now - self._since > self._give_up_after:
            return False
        stopped = self._stop.wait(self._delay)
        self._delay = min(self._delay * 2, 5.0)
        return not stopped
