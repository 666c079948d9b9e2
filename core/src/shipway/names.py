"""The names shipway keeps (deployments, flows, work queues, versions, agents) and the
one limit on their length: the store keeps them in columns of this width, so every
place a name comes in (a deployment file, a spec, an agent's settings, the store itself)
refuses a longer one up front with the same message."""

from __future__ import annotations

from shipway.errors import ConfigError

__all__ = ["MAX_NAME_LENGTH", "check_name_length", "too_long"]

MAX_NAME_LENGTH = 200


def too_long(what: str, value: str, limit: int = MAX_NAME_LENGTH) -> str | None:
    """The message for ``value`` when it is longer than ``limit``; None when it fits."""
    if len(value) <= limit:
        return None
    return (
        f"{what} is {len(value)} characters long ({value[:40]!r}...); at most {limit} are allowed"
    )


def check_name_length(what: str, value: str | None) -> None:
    """Raise a ConfigError naming ``what`` when ``value`` does not fit."""
    problem = too_long(what, value) if value is not None else None
    if problem is not None:
        raise ConfigError(problem)
