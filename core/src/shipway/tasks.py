"""``@task``: a function a flow calls as a step, with retries and a timeout, which it may
also run in the background (``.submit()``) or once per item (``.map()``).

Tasks run in the flow run's process: a direct call in the caller's thread, a submitted
one on the flow run's thread pool (``SHIPWAY_TASK_WORKERS`` threads at most, 16 by
default). Every failure and retry is written to the run logger, so it is in the run's
log with its traceback. A submitted task that failed and whose result nobody asked for
fails the flow when the flow returns. Pure stdlib: the engine imports it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import inspect
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, ParamSpec, TypeVar, overload

from shipway._prefect_options import TASK_OPTIONS, reject_unsupported
from shipway._retries import retry_policy
from shipway._run_context import current_run, entered_task, shared_pool
from shipway._timeouts import call_with_timeout, check_timeout
from shipway._tracebacks import user_traceback
from shipway.run_logger import get_run_logger, prints_logged

__all__ = ["Task", "TaskFuture", "task", "unmapped"]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")



class unmapped(Generic[T]):  # lower case as in Prefect, so code moves over unchanged
    """Pass one value to every call of ``.map()``: ``add.map([1, 2], unmapped(10))``."""

    def __init__(self, value: T) -> None:
        self.value = value


class TaskFuture(Generic[R]):
    """The handle ``.submit()`` returns: ``.result()`` waits and returns the value (or
    raises the task's exception, with its traceback); ``.wait()`` only waits."""

    def __init__(self, future: concurrent.futures.Future[R], task_name: str) -> None:
        self._future = future
        self.task_name = task_name
        self.observed = False
        """Whether someone asked for the outcome (an unobserved failure fails the flow)."""

    def result(self, timeout: float | None = None, raise_on_failure: bool = True) -> Any:
        """The task's return value; its exception is raised (or returned, with
        ``raise_on_failure=False``). ``timeout``: seconds to wait, then ``TimeoutError``."""
        try:
            value = self._future.result(timeout)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(f"task {self.task_name!r} still running after {timeout} s") from None
        except Exception as exc:
            self.observed = True
            if raise_on_failure:
                raise
            return exc
        self.observed = True
        return value

    def wait(self, timeout: float | None = None) -> None:
        """Block until the task has ended (or ``timeout`` seconds have passed)."""
        concurrent.futures.wait([self._future], timeout)

    def done(self) -> bool:
        return self._future.done()

    def exception(self) -> BaseException | None:
        """The task's exception once it ended (None if it succeeded); waits for it."""
        return self._future.exception()

    def cancel(self) -> bool:
        """Cancel it if it has not started; True if it will not run."""
        return self._future.cancel()

    def __repr__(self) -> str:
        state = "done" if self.done() else "pending"
        return f"TaskFuture(task={self.task_name!r}, {state})"


class Task(Generic[P, R]):
    """A function marked with :func:`task`. Calling it runs it (with its retries and
    timeout) and returns its value."""

    def __init__(
        self,
        fn: Callable[P, R],
        *,
        name: str | None = None,
        description: str | None = None,
        tags: Iterable[str] | None = None,
        version: str | None = None,
        retries: int = 0,
        retry_delay_seconds: float | Sequence[float] | None = None,
        timeout_seconds: float | None = None,
        log_prints: bool | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"@task expects a function, got {type(fn).__name__}")
        self.fn = fn
        self.name: str = name or str(getattr(fn, "__name__", "task"))
        owner = f"@task {self.name!r}"
        self.description = description or inspect.getdoc(fn)
        self.tags = list(tags or ())
        self.version = version
        self.retries = retries
        self.retry_delay_seconds = retry_delay_seconds
        self.timeout_seconds = check_timeout(owner, timeout_seconds)
        self.log_prints = log_prints
        self._retries = retry_policy(owner, retries, retry_delay_seconds)
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"Task(name={self.name!r}, fn={self.fn.__module__}.{self.fn.__qualname__})"

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.fn)

    def with_options(self, **options: Any) -> Task[P, R]:
        """A copy with some options changed: ``fetch.with_options(retries=5)``."""
        current = {
            "name": self.name,
            "description": self.description,
            "tags": self.tags,
            "version": self.version,
            "retries": self.retries,
            "retry_delay_seconds": self.retry_delay_seconds,
            "timeout_seconds": self.timeout_seconds,
            "log_prints": self.log_prints,
        }
        unknown = {k: v for k, v in options.items() if k not in current}
        reject_unsupported(f"{self.name}.with_options()", unknown, TASK_OPTIONS)
        return Task(self.fn, **{**current, **options})

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        if self.is_async:
            return self._run_async(args, kwargs)  # type: ignore[return-value]
        return self._run(args, kwargs)

    def submit(self, *args: Any, **kwargs: Any) -> TaskFuture[R]:
        """Run it on the flow run's thread pool and return at once. Futures among the
        arguments are waited for and replaced by their results."""
        run = current_run()
        pool = run.pool if run is not None else shared_pool()

        def call() -> R:
            resolved_args = tuple(_resolved(a) for a in args)
            resolved_kwargs = {k: _resolved(v) for k, v in kwargs.items()}
            if self.is_async:
                import asyncio

                return asyncio.run(self._run_async(resolved_args, resolved_kwargs))  # type: ignore[no-any-return]
            return self._run(resolved_args, resolved_kwargs)

        future = TaskFuture(pool.submit(call), self.name)
        if run is not None:
            run.submitted.append(future)
        return future

    def map(self, *args: Any, **kwargs: Any) -> list[TaskFuture[R]]:
        """Submit one call per item, in order: ``square.map([1, 2, 3])``. Every iterable
        argument is walked in step; wrap one that every call gets whole in
        :class:`unmapped`; other values go to every call as they are."""
        given: list[tuple[int | str, Any]] = [*enumerate(args), *kwargs.items()]
        mapped = {key: list(value) for key, value in given if _is_mapped(value)}
        lengths = {len(values) for values in mapped.values()}
        if len(lengths) > 1:
            sizes = ", ".join(f"{_label(key)}: {len(v)}" for key, v in mapped.items())
            raise ValueError(f"{self.name}.map(): the iterables differ in length ({sizes})")
        if not mapped:
            raise ValueError(f"{self.name}.map() needs at least one iterable argument to map over")
        count = lengths.pop()

        def at(key: int | str, value: Any, index: int) -> Any:
            if key in mapped:
                return mapped[key][index]
            return value.value if isinstance(value, unmapped) else value

        return [
            self.submit(
                *(at(position, value, index) for position, value in enumerate(args)),
                **{key: at(key, value, index) for key, value in kwargs.items()},
            )
            for index in range(count)
        ]

    # -- running --------------------------------------------------------------------

    def _run(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> R:
        logger = get_run_logger()
        timeout_message = f"task {self.name!r} timed out after {self.timeout_seconds or 0:g} s"

        def attempt() -> R:
            return call_with_timeout(
                lambda: self.fn(*args, **kwargs), self.timeout_seconds, timeout_message
            )

        with entered_task(self.name), _prints(self.log_prints):
            try:
                return self._retries.call(
                    attempt, what=f"Task {self.name!r}", logger=get_run_logger
                )
            except Exception as exc:
                _log_failure(logger, self.name, exc)
                raise

    async def _run_async(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
        import asyncio

        logger = get_run_logger()

        async def attempt() -> Any:
            awaitable = self.fn(*args, **kwargs)
            if self.timeout_seconds is None:
                return await awaitable  # type: ignore[misc]
            try:
                return await asyncio.wait_for(awaitable, self.timeout_seconds)  # type: ignore[arg-type]
            except asyncio.TimeoutError:
                raise TimeoutError(
                    f"task {self.name!r} timed out after {self.timeout_seconds:g} s"
                ) from None

        with entered_task(self.name), _prints(self.log_prints):
            try:
                return await self._retries.call_async(
                    attempt, what=f"Task {self.name!r}", logger=get_run_logger
                )
            except Exception as exc:
                _log_failure(logger, self.name, exc)
                raise


def _log_failure(logger: logging.Logger, name: str, exc: Exception) -> None:
    shown = exc.with_traceback(user_traceback(exc.__traceback__))
    logger.error("Task %r failed: %s: %s", name, type(exc).__name__, exc, exc_info=shown)


def _prints(log_prints: bool | None) -> contextlib.AbstractContextManager[None]:
    """A task's ``log_prints``: None keeps what the flow chose."""
    if log_prints is None:
        return contextlib.nullcontext()
    return prints_logged(log_prints)


def _resolved(value: Any) -> Any:
    """A future passed to a task stands for its result (also inside lists, tuples and
    dict values)."""
    if isinstance(value, TaskFuture):
        return value.result()
    if isinstance(value, (list, tuple)):
        return type(value)(_resolved(v) for v in value)
    if isinstance(value, dict):
        return {k: _resolved(v) for k, v in value.items()}
    return value


def _is_mapped(value: Any) -> bool:
    if isinstance(value, (unmapped, str, bytes, Mapping)):
        return False
    return isinstance(value, Iterable)


def _label(key: int | str) -> str:
    return f"argument {key + 1}" if isinstance(key, int) else key


@overload
def task(fn: Callable[P, R], /) -> Task[P, R]: ...


@overload
def task(
    *,
    name: str | None = None,
    description: str | None = None,
    tags: Iterable[str] | None = None,
    version: str | None = None,
    retries: int = 0,
    retry_delay_seconds: float | Sequence[float] | None = None,
    timeout_seconds: float | None = None,
    log_prints: bool | None = None,
    **unsupported: Any,
) -> Callable[[Callable[P, R]], Task[P, R]]: ...


def task(
    fn: Callable[P, R] | None = None, /, **options: Any
) -> Task[P, R] | Callable[[Callable[P, R]], Task[P, R]]:
    """Mark a function as a task: ``@task`` or ``@task(retries=3, retry_delay_seconds=[1, 10])``.

    ``retry_delay_seconds``: seconds before each retry, or a list (one per retry; the
    last repeats). ``timeout_seconds``: the call raises ``TimeoutError`` after it.
    ``log_prints``: its ``print`` calls go to the run logger.
    """
    unsupported = {key: value for key, value in options.items() if key not in TASK_OPTIONS}
    reject_unsupported("@task", unsupported, TASK_OPTIONS)
    if fn is not None:
        return Task(fn, **options)

    def decorate(function: Callable[P, R]) -> Task[P, R]:
        return Task(function, **options)

    return decorate
