"""Where a run's pulled code already is: the pull cache's directory and its index, read
with the standard library alone.

The engine looks here before anything else: a run whose code is in the cache starts
without importing pydantic, the plugin registry or the storage plugin (``shipway.storage``
does the pulling, and records each pull here). The index maps a hash of the storage
block and the ref to the project directory inside the cache; an entry whose directory is
gone, or outside the cache, is ignored and the code pulled again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipway.environment import shipway_home

__all__ = ["STORAGE_CACHE_VAR", "cache_root", "find_pulled", "record_pulled"]

STORAGE_CACHE_VAR = "SHIPWAY_STORAGE_CACHE"
"""The directory runs pull code into; default ``$SHIPWAY_HOME/storage-cache``."""

_INDEX = ".index"


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    configured = env.get(STORAGE_CACHE_VAR)
    return Path(configured).expanduser() if configured else shipway_home() / "storage-cache"


def find_pulled(root: Path, storage: Mapping[str, Any], ref: str) -> Path | None:
    """The project directory of an earlier pull of ``ref`` from ``storage``, or None."""
    try:
        recorded = (root / _INDEX / _key(storage, ref)).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    path = Path(os.path.normpath(recorded))
    inside = path.is_absolute() and path.is_relative_to(os.path.abspath(root))
    return path if inside and path.is_dir() else None


def record_pulled(root: Path, storage: Mapping[str, Any], ref: str, project: Path) -> None:
    """Remember that ``project`` holds ``ref`` of ``storage`` (written atomically)."""
    index = root / _INDEX
    index.mkdir(parents=True, exist_ok=True)
    descriptor, partial = tempfile.mkstemp(dir=index, prefix=".partial-")
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(str(project))
    os.replace(partial, index / _key(storage, ref))


def _key(storage: Mapping[str, Any], ref: str) -> str:
    text = json.dumps(storage, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{text}\0{ref}".encode()).hexdigest()
