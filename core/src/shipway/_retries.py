"""Retries of a flow or a task: checking the options once, then calling until it works.

Only ``Exception`` is retried: a stop request (SIGTERM, Ctrl-C, ``sys.exit``) is not a
failure to try again."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import logging

__all__ = ["RetryPolicy", "retry_policy"]

R = TypeVar("R")


class RetryPolicy:
    """``retries`` more attempts after the first, waiting ``delays[k]`` before retry k+1
    (the last delay repeats when the list is shorter than the retries)."""

    def __init__(self, retries: int, delays: Sequence[float]) -> None:
        self.retries = retries
        self.delays = tuple(delays)

    def delay_before(self, retry: int) -> float:
        if not self.delays:
            return 0.0
        return self.delays[min(retry - 1, len(self.delays) - 1)]

    def call(
        self, call: Callable[[], R], *, what: str, logger: Callable[[], logging.Logger]
    ) -> R:
        attempt = 1
        while True:
            try:
                return call()
            except Exception as exc:
                if attempt > self.retries:
                    raise
                time.sleep(self._announce(exc, attempt, what, logger))
                attempt += 1

    async def call_async(
        self,
        call: Callable[[], Awaitable[R]],
        *,
        what: str,
        logger: Callable[[], logging.Logger],
    ) -> R:
        attempt = 1
        while True:
            try:
                return await call()
            except Exception as exc:
                if attempt > self.retries:
                    raise
                import asyncio  # only async flows and tasks pay for it

                await asyncio.sleep(self._announce(exc, attempt, what, logger))
                attempt += 1

    def _announce(
        self, exc: Exception, attempt: int, what: str, logger: Callable[[], logging.Logger]
    ) -> float:
        """Log the failure (``logger`` is called only now: a flow that never fails never
        imports logging) and return the delay before the next attempt."""
        delay = self.delay_before(attempt)
        logger().warning(
            "%s failed (attempt %d of %d): %s: %s; retrying in %g s",
            what, attempt, self.retries + 1, type(exc).__name__, exc, delay,
        )  # fmt: skip
        return delay


def retry_policy(
    owner: str, retries: int, retry_delay_seconds: float | Sequence[float] | None
) -> RetryPolicy:
    """Check the options where they are written (``@task(retries=-1)`` fails at import,
    naming ``owner``), not when the first failure happens."""
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"{owner}: retries must be a whole number >= 0, not {retries!r}")
    if retry_delay_seconds is None:
        delays: list[float] = []
    elif isinstance(retry_delay_seconds, (int, float)) and not isinstance(
        retry_delay_seconds, bool
    ):
        delays = [float(retry_delay_seconds)]
    elif isinstance(retry_delay_seconds, (list, tuple)):
        delays = list(retry_delay_seconds)
    else:
        raise ValueError(
            f"{owner}: retry_delay_seconds must be seconds or a list of seconds, "
            f"not {retry_delay_seconds!r}"
        )
    for delay in delays:
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
            raise ValueError(
                f"{owner}: retry_delay_seconds must be seconds >= 0, not {retry_delay_seconds!r}"
            )
    return RetryPolicy(retries, [float(d) for d in delays])
