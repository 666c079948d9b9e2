"""Errors that mean "the user has something to fix".

The CLI prints a :class:`ShipwayError` as one clear message (no traceback unless
``--debug``) and exits non-zero. Anything else escaping is a bug in shipway or a plugin.
"""

from __future__ import annotations

from shipway.exit_status import ExitStatus

__all__ = [
    "ConfigError",
    "DeploymentNotFound",
    "FlowLoadError",
    "ParameterError",
    "ShipwayError",
]


class ShipwayError(Exception):
    """A problem the user can fix; ``hint`` says how."""

    exit_code: int = ExitStatus.USER_ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message}\n{self.hint}"


class ConfigError(ShipwayError):
    """A configuration file or value is wrong; ``location`` says where (file:line)."""

    def __init__(
        self, message: str, *, location: str | None = None, hint: str | None = None
    ) -> None:
        super().__init__(f"{location}: {message}" if location else message, hint=hint)
        self.location = location


class DeploymentNotFound(ShipwayError):
    """No deployment of that name is defined."""


class FlowLoadError(ShipwayError):
    """A flow entrypoint could not be imported (file, module or function missing)."""


class ParameterError(ShipwayError):
    """Parameters do not match the flow's signature."""
