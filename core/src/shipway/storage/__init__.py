"""The storage contract, and every name a storage plugin author needs from the core.

Storage is the second plugin kind and works exactly like infrastructure: a
:class:`Storage` subclass per type, returned by the ``shipway_storage_types`` hook of the
module an entry point in the ``shipway.storage`` group names (the entry point's name is
the type name), selected by name in a ``storage:`` block. ``push`` runs where a
deployment is applied and returns a content ref; the engine ``pull``\\ s that ref before
it imports the flow, into a cache keyed by ref.

Plugin classes are also importable here (``from shipway.storage import GitRepository``)
when the plugin that provides them is installed.
"""

from __future__ import annotations

from typing import Any

from shipway.secrets import is_secret_name, mask, mask_url
from shipway.storage._archive import (
    ARCHIVE_SUFFIX,
    HostileArchive,
    extract_archive,
    extract_archive_bytes,
    write_archive,
)
from shipway.storage._base import Storage
from shipway.storage._cache import STORAGE_CACHE_VAR, PullCache, cache_key
from shipway.storage._errors import (
    StorageCredentialsRejected,
    StorageError,
    StorageRefNotFound,
    StorageUnreachable,
)
from shipway.storage._load import load_storage, pull_job_code
from shipway.storage._local import LocalFileSystem
from shipway.storage._project import (
    ALWAYS_EXCLUDED,
    IGNORE_FILE,
    ProjectFile,
    content_ref,
    project_files,
)

__all__ = [
    "ALWAYS_EXCLUDED",
    "ARCHIVE_SUFFIX",
    "IGNORE_FILE",
    "STORAGE_CACHE_VAR",
    "HostileArchive",
    "LocalFileSystem",
    "ProjectFile",
    "PullCache",
    "Storage",
    "StorageCredentialsRejected",
    "StorageError",
    "StorageRefNotFound",
    "StorageUnreachable",
    "cache_key",
    "content_ref",
    "extract_archive",
    "extract_archive_bytes",
    "is_secret_name",
    "load_storage",
    "mask",
    "mask_url",
    "project_files",
    "pull_job_code",
    "write_archive",
]


def __getattr__(name: str) -> Any:
    """Resolve plugin classes (``GitRepository``, ``RemoteFileSystem``) through the registry."""
    if not name[:1].isupper():
        raise AttributeError(f"module 'shipway.storage' has no attribute {name!r}")
    from shipway.plugins import STORAGE_KIND, get_registry

    return get_registry().class_by_class_name(STORAGE_KIND, name)
