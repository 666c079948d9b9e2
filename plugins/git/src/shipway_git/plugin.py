"""The module the ``git-repository`` entry point names: shipway loads it only when a
deployment's storage selects ``git-repository`` (or when listing plugins)."""

from __future__ import annotations

from collections.abc import Sequence

from shipway import hookimpl
from shipway.storage import Storage
from shipway_git._repository import GitRepository


@hookimpl
def shipway_storage_types() -> Sequence[type[Storage]]:
    return [GitRepository]
