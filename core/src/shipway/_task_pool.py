"""A bounded pool of daemon threads for submitted tasks.

Not ``ThreadPoolExecutor``: its threads are joined when the interpreter exits, so one
task stuck past its timeout would keep the engine (and the run) alive forever. Daemon
threads end with the engine."""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

__all__ = ["TaskPool"]

R = TypeVar("R")

_Work = tuple[Future[Any], contextvars.Context, Callable[[], Any]]


class TaskPool:
    def __init__(self, max_workers: int, *, name: str) -> None:
        self.max_workers = max_workers
        self._name = name
        self._queue: queue.SimpleQueue[_Work] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        # Released by a worker each time it waits for work: a submission that can take
        # it knows an idle thread will pick the work up (ThreadPoolExecutor's scheme).
        self._idle = threading.Semaphore(0)
        self._lock = threading.Lock()

    def submit(self, fn: Callable[[], R]) -> Future[R]:
        """Run ``fn`` on a pool thread, in a copy of the caller's context."""
        future: Future[R] = Future()
        self._queue.put((future, contextvars.copy_context(), fn))
        if self._idle.acquire(blocking=False):
            return future
        with self._lock:
            if len(self._threads) < self.max_workers:
                thread = threading.Thread(
                    target=self._work,
                    name=f"shipway-task-{self._name}-{len(self._threads)}",
                    daemon=True,
                )
                self._threads.append(thread)
                thread.start()
        return future

    def _work(self) -> None:
        while True:
            future, context, fn = self._queue.get()
            if future.set_running_or_notify_cancel():
                try:
                    result = context.run(fn)
                except BaseException as exc:  # handed to whoever waits on the future
                    future.set_exception(exc)
                else:
                    future.set_result(result)
            del future, context, fn  # do not keep the last result alive while idle
            self._idle.release()
