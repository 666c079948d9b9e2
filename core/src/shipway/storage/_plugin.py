"""The module the ``local-file-system`` entry point names: the core's own storage type is
registered exactly like a third party's."""

from __future__ import annotations

from collections.abc import Sequence

from shipway._markers import hookimpl
from shipway.storage._base import Storage
from shipway.storage._local import LocalFileSystem


@hookimpl
def shipway_storage_types() -> Sequence[type[Storage]]:
    return [LocalFileSystem]
