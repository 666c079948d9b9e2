"""The module the ``process`` entry point names: shipway loads it only when a
deployment selects ``process`` (or when listing plugins)."""

from __future__ import annotations

from collections.abc import Sequence

from shipway import hookimpl
from shipway.infrastructure import Infrastructure
from shipway_process._process import Process


@hookimpl
def shipway_infrastructure_types() -> Sequence[type[Infrastructure]]:
    return [Process]
