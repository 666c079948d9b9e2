"""Errors that mean "the user has something to fix".

The CLI prints a :class:`ShipwayError` as one clear message (no traceback unless
``--debug``) and exits with its ``exit_code`` (a ``shipway.exit_status.ExitStatus``).
Anything else escaping is a bug in shipway or a plugin.

Every one in the core, with where it lives (exit status 2 unless noted)::

    ShipwayError                          shipway.errors
    ├── ConfigError                       shipway.errors
    │   └── SecretNotFound                shipway.secrets       (a secret reference with no value)
    ├── DeploymentNotFound                shipway.errors        (not in the deployment file)
    │   └── StoredDeploymentNotFound      shipway.store         (also a StoreError)
    ├── FlowLoadError                     shipway.errors
    ├── ParameterError                    shipway.errors
    ├── InfrastructureError               shipway.infrastructure
    │   ├── InfrastructureNotFound        shipway.infrastructure
    │   ├── InfrastructureNotAvailable    shipway.infrastructure
    │   └── InfrastructureUnreachable     shipway.infrastructure  (exit status 3)
    ├── StorageError                      shipway.storage       (code not pushed or pulled)
    │   ├── StorageRefNotFound            shipway.storage
    │   ├── StorageUnreachable            shipway.storage
    │   └── StorageCredentialsRejected    shipway.storage
    ├── PluginError                       shipway.plugins
    │   ├── UnknownPluginType             shipway.plugins
    │   │   ├── UnknownInfrastructureType shipway.plugins
    │   │   └── UnknownStorageType        shipway.plugins
    │   ├── PluginCollisionError          shipway.plugins
    │   ├── PluginLoadError               shipway.plugins
    │   └── PluginBlockedError            shipway.plugins
    ├── UnreadableSecret                  shipway.secrets       (a stored secret, no or another key)
    ├── StoreError                        shipway.store
    │   ├── SecretKeyError                shipway.store         (the secret key is not usable)
    │   ├── StoreUnavailable              shipway.store         (exit status 3)
    │   ├── StoreRefused                  shipway.store
    │   │   └── StoreNotWritable          shipway.store
    │   ├── StoreFailed                   shipway.store         (exit status 1)
    │   ├── StoreNotFound                 shipway.store
    │   ├── StoredDeploymentNotFound      shipway.store         (see above)
    │   ├── FlowRunNotFound               shipway.store
    │   └── StateConflict                 shipway.store
    ├── NotPython                         shipway.migrate
    └── Undecodable                       shipway.migrate

Outside the tree on purpose: ``PluginNotInstalled`` (``shipway.plugins``) is an
``ImportError``, since ``from shipway.infrastructure import Process`` must raise one.
``JobFormatError`` (``shipway.jobs``, a ``ValueError``: a job that cannot be handed over)
and ``FlowImportError`` (``shipway.entrypoints``, the user's own exception as its
``__cause__``) are reported by the engine itself, with exit status 3; resolving a run
turns the first into a ``ParameterError``. ``shipway.engine.Terminated`` is a
``BaseException``, so that a flow's ``except Exception`` does not swallow a SIGTERM.
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

    def one_line(self) -> str:
        """The message and the hint on one line: for a run's state message and log
        lines, where the next step must travel with what went wrong."""
        return self.message if not self.hint else f"{self.message} ({self.hint.rstrip('.')})"


class ConfigError(ShipwayError):
    """A configuration file or value is wrong; ``location`` says where (file:line)."""

    def __init__(
        self, message: str, *, location: str | None = None, hint: str | None = None
    ) -> None:
        super().__init__(f"{location}: {message}" if location else message, hint=hint)
        self.location = location


class DeploymentNotFound(ShipwayError):
    """No deployment of that name is defined in the deployment file (the store's
    ``StoredDeploymentNotFound`` is a subclass: catching this catches both)."""


class FlowLoadError(ShipwayError):
    """A flow entrypoint could not be imported (file, module or function missing)."""


class ParameterError(ShipwayError):
    """Parameters do not match the flow's signature."""
