"""The module the ``remote-file-system`` entry point names: shipway loads it only when a
deployment's storage selects ``remote-file-system`` (or when listing plugins)."""

from __future__ import annotations

from collections.abc import Sequence

from shipway import hookimpl
from shipway.storage import Storage
from shipway_fsspec._remote_file_system import RemoteFileSystem


@hookimpl
def shipway_storage_types() -> Sequence[type[Storage]]:
    return [RemoteFileSystem]
