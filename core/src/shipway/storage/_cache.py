"""The pull cache: each ref pulled once per machine, whole or not at all.

A pull goes into a private temporary directory inside the cache and is renamed into place
only when complete, so a reader never sees half a project. A lock file per entry makes
concurrent runs of one ref wait for the first pull instead of repeating it; without a lock
(a platform with no ``fcntl``) the rename alone keeps the entry whole.

The cache lives in ``$SHIPWAY_STORAGE_CACHE`` when set (an infrastructure points it at a
volume of its own, a pod's ``emptyDir`` say), else in ``$SHIPWAY_HOME/storage-cache``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from shipway.pulled_code import STORAGE_CACHE_VAR, cache_root

if TYPE_CHECKING:
    from shipway.storage._base import Storage

__all__ = ["STORAGE_CACHE_VAR", "PullCache", "cache_key"]


class PullCache:
    """Pulled projects by cache key (see :meth:`Storage.cache_key`)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> PullCache:
        return cls(cache_root(environ))

    def entry(self, storage: Storage, ref: str) -> Path:
        """Where the pull of ``ref`` from ``storage`` is (or will be) kept."""
        return self.root / storage.cache_key(ref)

    def pull(self, storage: Storage, ref: str) -> Path:
        """The project of ``ref``, pulled into the cache unless it is there already.
        Returns the project directory (:meth:`Storage.working_dir` of the entry)."""
        entry = self.entry(storage, ref)
        if not entry.is_dir():
            self.root.mkdir(parents=True, exist_ok=True)
            with _locked(self.root / f"{entry.name}.lock"):
                if not entry.is_dir():  # another run may have pulled it while we waited
                    self._pull_into(storage, ref, entry)
        return storage.working_dir(entry)

    def _pull_into(self, storage: Storage, ref: str, entry: Path) -> None:
        partial = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", suffix=".partial", dir=self.root))
        try:
            storage.pull(ref, partial)
            try:
                os.rename(partial, entry)
            except OSError:
                if not entry.is_dir():  # not "someone else finished first": a real failure
                    raise
        finally:
            if partial.exists():
                shutil.rmtree(partial, ignore_errors=True)


def cache_key(*parts: str) -> str:
    """A file name for a cache entry made of ``parts`` (the storage type, the ref...)."""
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:40]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: the atomic rename alone
        yield
        return
    with open(path, "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
