"""What a flow run in progress knows about itself: its name, the pool its submitted
tasks run on, and the futures they returned (a failure nobody looked at fails the flow).

A context variable holds it, so a flow called inside a flow (a subflow) gets its own,
and a task running on the pool sees the run that submitted it (the pool copies the
submitter's context into each task)."""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from shipway.environment import TASK_WORKERS_VAR

if TYPE_CHECKING:
    from shipway._task_pool import TaskPool

__all__ = [
    "FlowRunContext",
    "current_run",
    "current_task_name",
    "entered_run",
    "entered_task",
    "log_lines_wanted",
    "shared_pool",
    "use_log_lines",
]

DEFAULT_TASK_WORKERS = 16


def task_workers() -> int:
    value = os.environ.get(TASK_WORKERS_VAR, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_TASK_WORKERS


class Submitted(Protocol):
    """What the run needs of a submitted task's future (``shipway.tasks.TaskFuture``)."""

    observed: bool

    def wait(self, timeout: float | None = None) -> None: ...
    def cancel(self) -> bool: ...
    def exception(self) -> BaseException | None: ...


@dataclass
class FlowRunContext:
    flow_name: str
    submitted: list[Submitted] = field(default_factory=list)
    _pool: TaskPool | None = None

    def settle(self) -> None:
        """Wait for every submitted task; raise the first failure nobody looked at (its
        traceback shows where the task failed), as Prefect fails such a flow."""
        for future in self.submitted:
            future.wait()
        for future in self.submitted:
            error = future.exception()
            if error is not None and not future.observed:
                raise error

    def cancel_pending(self) -> None:
        """The flow failed: tasks that have not started will not."""
        for future in self.submitted:
            future.cancel()

    @property
    def pool(self) -> TaskPool:
        if self._pool is None:
            from shipway._task_pool import TaskPool  # only flows that submit tasks pay for it

            self._pool = TaskPool(task_workers(), name=self.flow_name)
        return self._pool


_run: contextvars.ContextVar[FlowRunContext | None] = contextvars.ContextVar(
    "shipway_flow_run", default=None
)
_task: contextvars.ContextVar[str | None] = contextvars.ContextVar("shipway_task", default=None)
_shared: list[TaskPool] = []


def current_run() -> FlowRunContext | None:
    return _run.get()


def current_task_name() -> str | None:
    return _task.get()


def shared_pool() -> TaskPool:
    """The pool for tasks submitted outside any flow (a script, a test)."""
    if not _shared:
        from shipway._task_pool import TaskPool

        _shared.append(TaskPool(task_workers(), name="tasks"))
    return _shared[0]


_log_lines: list[bool] = [False]


def use_log_lines() -> None:
    """Called by the engine before the flow runs: the run logger's records become log
    lines on stderr (``shipway.log_lines``). A flag only, so the engine need not import
    logging to set it."""
    _log_lines[0] = True


def log_lines_wanted() -> bool:
    return _log_lines[0]


@contextlib.contextmanager
def entered_run(flow_name: str) -> Iterator[FlowRunContext]:
    run = FlowRunContext(flow_name)
    token = _run.set(run)
    try:
        yield run
    finally:
        _run.reset(token)


@contextlib.contextmanager
def entered_task(name: str) -> Iterator[None]:
    token = _task.set(name)
    try:
        yield
    finally:
        _task.reset(token)
