"""The module the ``sandbox`` entry point names."""

from __future__ import annotations

from shipway import hookimpl
from shipway.infrastructure import Infrastructure

from shipway_sandbox.sandbox import Sandbox


@hookimpl
def shipway_infrastructure_types() -> list[type[Infrastructure]]:
    return [Sandbox]
