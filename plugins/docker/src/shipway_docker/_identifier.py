"""``<docker engine id>:<container id>``: which engine holds a run, and which container.

The engine id is the one ``docker info`` shows (``ID``); on older engines it contains
colons itself, so the container id is what follows the last one.
"""

from __future__ import annotations

import re

from shipway.infrastructure import InfrastructureError

__all__ = ["format_identifier", "parse_identifier"]

_CONTAINER_ID = re.compile(r"^[0-9a-f]{12,64}$")


def format_identifier(engine_id: str, container_id: str) -> str:
    return f"{engine_id}:{container_id}"


def parse_identifier(identifier: str) -> tuple[str, str]:
    """(engine id, container id), or an InfrastructureError for anything else."""
    engine_id, _, container_id = identifier.rpartition(":")
    if not engine_id or not _CONTAINER_ID.match(container_id):
        raise InfrastructureError(
            f"{identifier!r} is not a Docker container identifier "
            "(expected <docker engine id>:<container id>, as `shipway run` reports it)"
        )
    return engine_id, container_id
