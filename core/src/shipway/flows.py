"""``@flow``: mark a function as a flow, and validate parameters against its signature."""

from __future__ import annotations

import functools
import inspect
import json
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Generic, ParamSpec, TypeVar, overload

from shipway.errors import ParameterError

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
    ) -> None:
        if not callable(fn):
            raise TypeError(f"@flow expects a function, got {type(fn).__name__}")
        self.fn = fn
        self.name = name or fn.__name__
        self.description = description or inspect.getdoc(fn)
        self.version = version
        functools.update_wrapper(self, fn)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.fn(*args, **kwargs)

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
    *, name: str | None = None, description: str | None = None, version: str | None = None
) -> Callable[[Callable[P, R]], Flow[P, R]]: ...


def flow(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    version: str | None = None,
) -> Flow[P, R] | Callable[[Callable[P, R]], Flow[P, R]]:
    """Mark a function as a flow: ``@flow`` or ``@flow(name="nightly")``.

    Sync and async functions are both flows; the engine awaits async ones.
    """
    if fn is not None:
        return Flow(fn)

    def decorate(function: Callable[P, R]) -> Flow[P, R]:
        return Flow(function, name=name, description=description, version=version)

    return decorate
