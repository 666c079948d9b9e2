"""The module the ``docker-container`` entry point names: shipway loads it only when a
deployment selects ``docker-container`` (or when listing plugins)."""

from __future__ import annotations

from collections.abc import Sequence

from shipway import hookimpl
from shipway.infrastructure import Infrastructure
from shipway_docker._container import DockerContainer


@hookimpl
def shipway_infrastructure_types() -> Sequence[type[Infrastructure]]:
    return [DockerContainer]
