"""Turn pydantic validation errors into messages that name the file, line and field."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ValidationError

from shipway.errors import ConfigError
from shipway.secrets import is_secret_name, mask

__all__ = ["config_error_from_validation", "dotted", "problems_on_one_line"]

Loc = tuple[str | int, ...]


def dotted(loc: Iterable[str | int]) -> str:
    """``("deployments", 1, "env")`` -> ``deployments[1].env``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _describe(error: Any, model: type[BaseModel] | None) -> str:
    if error["type"] == "extra_forbidden":
        message = "unknown field"
        if model is not None:
            message += f" ({model.__name__} accepts: {', '.join(model.model_fields)})"
        return message
    if error["type"] == "missing":
        return "required field is missing"
    message = str(error["msg"])
    secret = any(isinstance(part, str) and is_secret_name(part) for part in error["loc"])
    if error["type"] not in ("value_error", "assertion_error") and not secret:
        message += f" (got {mask(repr(error['input']))})"
    return message.removeprefix("Value error, ")


def config_error_from_validation(
    exc: ValidationError,
    *,
    what: str,
    prefix: Loc = (),
    locate: Callable[[Loc], str] | None = None,
    model: type[BaseModel] | None = None,
) -> ConfigError:
    """One line per problem: ``file:line: path.to.field: what is wrong``."""
    lines = []
    for error in exc.errors():
        loc = (*prefix, *error["loc"])
        where = locate(loc) + ": " if locate else ""
        lines.append(f"{where}{dotted(loc)}: {_describe(error, model)}")
    count = len(lines)
    header = f"{what} is not valid ({count} problem{'s' if count > 1 else ''}):"
    return ConfigError(header + "\n  " + "\n  ".join(lines))


def problems_on_one_line(exc: ValidationError) -> str:
    """``env.FOO: Input should be a valid string; bogus: Extra inputs are not permitted``:
    for a message that must stay one line, such as a flow run's state message."""
    return "; ".join(f"{dotted(error['loc']) or '(top)'}: {error['msg']}" for error in exc.errors())
