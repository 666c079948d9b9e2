"""``@flow``: mark a function as a flow, and validate parameters against its signature.

Calling a flow runs it with its options: ``retries`` (the whole function again, after
``retry_delay_seconds``), ``timeout_seconds`` (``TimeoutError`` when time is up),
``log_prints`` (``print`` goes to the run logger). It waits for the tasks it submitted;
one that failed without anyone asking for its result fails the flow. The same happens
in the engine and in a script or test that calls the flow. Pure stdlib until parameters
need coercing (pydantic is imported then).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, ParamSpec, TypeVar, overload

from shipway._prefect_options import FLOW_OPTIONS, reject_unsupported
from shipway._retries import retry_policy
from shipway._run_context import FlowRunContext, entered_run
from shipway._timeouts import call_with_timeout, check_timeout
from shipway.errors import ParameterError

if typing.TYPE_CHECKING:
    import logging

__all__ = ["Flow", "flow"]

P = ParamSpec("P")
R = TypeVar("R")

# Values of exactly these types need no coercion for a parameter annotated with the
# same type, so the engine can skip importing pydantic for the common case.
_PLAIN_TYPES: frozenset[type] = frozenset({str, int, float, bool, bytes})



class Flow(Generic[P, R]):
    """A function marked with :func:`flow`. Calling it runs the function in-process."""

    def __init__(
        self,
        fn: Callable[P, R],
        *,
        name: str | None = None,
        description: str | None = None,
        version: str | None = None,
        retries: int = 0,
        retry_delay_seconds: float | Sequence[float] | None = None,
        timeout_seconds: float | None = None,
        log_prints: bool | None = None,
        validate_parameters: bool = True,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"@flow expects a function, got {type(fn).__name__}")
        self.fn = fn
        self.name = name or fn.__name__
        owner = f"@flow {self.name!r}"
        self.description = description or inspect.getdoc(fn)
        self.version = version
        self.retries = retries
        self.retry_delay_seconds = retry_delay_seconds
        self.timeout_seconds = check_timeout(owner, timeout_seconds)
        self.log_prints = log_prints
        self.should_validate_parameters = bool(validate_parameters)
        self._retries = retry_policy(owner, retries, retry_delay_seconds)
        functools.update_wrapper(self, fn)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        if self.is_async:
            return self._call_async(args, kwargs)  # type: ignore[return-value]

        def attempt() -> R:
            return call_with_timeout(
                lambda: self._attempt(args, kwargs), self.timeout_seconds, self._timed_out()
            )

        with self._prints():
            return self._retries.call(attempt, what=f"Flow {self.name!r}", logger=_run_logger)

    def _attempt(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> R:
        with entered_run(self.name) as run:
            try:
                result = self.fn(*args, **kwargs)
            except BaseException:
                run.cancel_pending()
                raise
            run.settle()
            return result

    async def _call_async(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
        import asyncio  # only async flows pay for it

        async def attempt() -> Any:
            with entered_run(self.name) as run:
                try:
                    result = await self._awaited(asyncio, run, self.fn(*args, **kwargs))
                except BaseException:
                    run.cancel_pending()
                    raise
                run.settle()
                return result

        with self._prints():
            return await self._retries.call_async(
                attempt, what=f"Flow {self.name!r}", logger=_run_logger
            )

    async def _awaited(self, asyncio: Any, run: FlowRunContext, awaitable: Any) -> Any:
        if self.timeout_seconds is None:
            return await awaitable
        try:
            return await asyncio.wait_for(awaitable, self.timeout_seconds)
        except asyncio.TimeoutError:
            raise TimeoutError(self._timed_out()) from None

    def _timed_out(self) -> str:
        seconds = self.timeout_seconds or 0
        return f"flow {self.name!r} timed out after {seconds:g} s (timeout_seconds)"

    def _prints(self) -> contextlib.AbstractContextManager[None]:
        if self.log_prints is None:
            return contextlib.nullcontext()
        from shipway.run_logger import prints_logged

        return prints_logged(self.log_prints)

    def __repr__(self) -> str:
        return f"Flow(name={self.name!r}, fn={self.fn.__module__}.{self.fn.__qualname__})"

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.fn)

    def validate_parameters(
        self, parameters: Mapping[str, Any], *, partial: bool = False
    ) -> dict[str, Any]:
        """Check names against the signature and coerce values to the annotations.

        Raises :class:`ParameterError` listing every problem, so the user fixes them
        all at once. ``partial``: required parameters may be missing (a deployment's
        defaults, which each run may complete).
        """
        try:
            signature = inspect.signature(self.fn)
        except (TypeError, ValueError):  # a builtin without a signature: nothing to check
            return dict(parameters)
        accepts_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
        named = {
            name: p
            for name, p in signature.parameters.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }
        problems: list[str] = []
        for key in parameters:
            if key not in named and not accepts_any:
                accepted = ", ".join(named) or "no parameters"
                problems.append(f"unknown parameter {key!r} (the flow accepts: {accepted})")
        for name, p in named.items():
            if p.default is p.empty and name not in parameters and not partial:
                problems.append(f"missing required parameter {name!r}")

        if not self.should_validate_parameters:  # @flow(validate_parameters=False)
            if problems:
                raise ParameterError(
                    f"parameters do not match flow {self.name!r}:\n  - " + "\n  - ".join(problems)
                )
            return dict(parameters)
        hints = _type_hints(self.fn)
        coerced: dict[str, Any] = {}
        for key, value in parameters.items():
            annotation = hints.get(key, named[key].annotation if key in named else Any)
            try:
                coerced[key] = _coerce(annotation, value)
            except _CoercionError as exc:
                problems.append(f"parameter {key!r}: {exc}")
        if problems:
            raise ParameterError(
                f"parameters do not match flow {self.name!r}:\n  - " + "\n  - ".join(problems)
            )
        return coerced


def _run_logger() -> logging.Logger:
    """The run logger, imported when first needed (a flow that never fails or logs
    starts without importing logging)."""
    from shipway.run_logger import get_run_logger

    return get_run_logger()


class _CoercionError(ValueError):
    pass


def _type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception:
        pass
    # One annotation that cannot be resolved (a name imported only for type checkers,
    # say) must not stop the others from being checked: resolve them one by one, and
    # leave the unresolvable ones unchecked.
    hints: dict[str, Any] = {}
    namespace = getattr(fn, "__globals__", {})
    for name, annotation in dict(getattr(fn, "__annotations__", {})).items():
        single = types.SimpleNamespace(__annotations__={name: annotation}, __globals__=namespace)
        try:
            hints[name] = typing.get_type_hints(single, include_extras=True)[name]
        except Exception:
            hints[name] = Any
    return hints


def _coerce(annotation: Any, value: Any) -> Any:
    if annotation is inspect.Parameter.empty or annotation is Any:
        return value
    if annotation in _PLAIN_TYPES and type(value) is annotation:
        return value
    if annotation is float and type(value) is int:  # JSON's 1 for a float, as pydantic does
        return float(value)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        # `str | None` given None or a str: what pydantic's smart union picks (an exact match).
        members = typing.get_args(annotation)
        if type(value) in members and (value is None or type(value) in _PLAIN_TYPES):
            return value
    from pydantic import (
        PydanticUndefinedAnnotation,
        PydanticUserError,
        TypeAdapter,
        ValidationError,
    )

    try:
        adapter = TypeAdapter(annotation)
        return adapter.validate_python(value)
    except (PydanticUserError, PydanticUndefinedAnnotation):
        # A type pydantic cannot check or cannot resolve: pass the value on unchecked,
        # as for an unannotated parameter, rather than fail the run on shipway's side.
        return value
    except ValidationError as exc:
        # Values typed on a command line arrive as strings: '[1, 2]' for a list[int].
        if isinstance(value, str):
            try:
                return adapter.validate_python(json.loads(value))
            except (ValueError, ValidationError):
                pass
        messages = "; ".join(error["msg"] for error in exc.errors())
        raise _CoercionError(f"{messages} (got {value!r})") from None


@overload
def flow(fn: Callable[P, R], /) -> Flow[P, R]: ...


@overload
def flow(
    *,
    name: str | None = None,
    description: str | None = None,
    version: str | None = None,
    retries: int = 0,
    retry_delay_seconds: float | Sequence[float] | None = None,
    timeout_seconds: float | None = None,
    log_prints: bool | None = None,
    validate_parameters: bool = True,
    **unsupported: Any,
) -> Callable[[Callable[P, R]], Flow[P, R]]: ...


def flow(
    fn: Callable[P, R] | None = None, /, **options: Any
) -> Flow[P, R] | Callable[[Callable[P, R]], Flow[P, R]]:
    """Mark a function as a flow: ``@flow`` or ``@flow(name="nightly", retries=2)``.

    Sync and async functions are both flows; the engine awaits async ones. An option
    Prefect has and shipway does not (``task_runner=``, ``persist_result=``, ...) is a
    ``TypeError`` that says what to do instead.
    """
    unsupported = {key: value for key, value in options.items() if key not in FLOW_OPTIONS}
    reject_unsupported("@flow", unsupported, FLOW_OPTIONS)
    if fn is not None:
        return Flow(fn, **options)

    def decorate(function: Callable[P, R]) -> Flow[P, R]:
        return Flow(function, **options)

    return decorate
