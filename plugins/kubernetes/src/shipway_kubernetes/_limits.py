"""Worker threads for the blocking Kubernetes client, on limiters of the plugin's own.

The official client blocks, so its calls run in worker threads. Using anyio's default
thread limiter (40 threads, shared with everything else in the process: the agent's
store calls among them) let long-lived reads starve it: with one watch per run held in a
worker thread, an agent deadlocked at about 20 concurrent runs. Here each kind of work
has its own :class:`anyio.CapacityLimiter` per event loop:

- short API calls (create, read, list events, delete): :data:`API_CALLS` at once;
- pod log streams, which last as long as their container runs: :data:`LOG_STREAMS` at
  once (more pods wait for a slot; their logs are read from the start when they get one);
- watches run on threads of their own, one pair per namespace (see ``_informer``), and
  take no slot at all.

So no kind of work can starve another, nor the process's default limiter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar

__all__ = ["API_CALLS", "LOG_STREAMS", "api_call", "log_streams"]

API_CALLS = 16
"""Blocking API requests in flight at once, per event loop (an agent's runs together)."""
LOG_STREAMS = 64
"""Pod logs streamed at once, per event loop."""

T = TypeVar("T")

_api_calls: RunVar[anyio.CapacityLimiter] = RunVar("shipway_kubernetes_api_calls")
_log_streams: RunVar[anyio.CapacityLimiter] = RunVar("shipway_kubernetes_log_streams")


def _limiter(variable: RunVar[anyio.CapacityLimiter], tokens: int) -> anyio.CapacityLimiter:
    try:
        return variable.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(tokens)
        variable.set(limiter)
        return limiter


def api_calls() -> anyio.CapacityLimiter:
    """This event loop's limiter for short, blocking API calls."""
    return _limiter(_api_calls, API_CALLS)


def log_streams() -> anyio.CapacityLimiter:
    """This event loop's limiter for pod log streams."""
    return _limiter(_log_streams, LOG_STREAMS)


async def api_call(func: Callable[..., T], *args: Any, abandon_on_cancel: bool = False) -> T:
    """``func(*args)`` in a worker thread, on the API-call limiter."""
    return await anyio.to_thread.run_sync(
        func, *args, limiter=api_calls(), abandon_on_cancel=abandon_on_cancel
    )
