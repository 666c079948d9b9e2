"""The storage conformance suite against the core's local-file-system."""

from __future__ import annotations

from collections.abc import Collection, Hashable
from pathlib import Path

import pytest

from shipway.storage import LocalFileSystem, Storage
from shipway.testing import StorageConformance


class TestLocalFileSystemConformance(StorageConformance):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> Storage:
        shared = tmp_path / "shared"
        shared.mkdir()  # a mounted volume exists before anything is pushed to it
        return LocalFileSystem(basepath=str(shared))

    def storage_snapshot(self, storage: Storage) -> Collection[Hashable]:
        assert isinstance(storage, LocalFileSystem)
        root = Path(storage.basepath)
        return [str(path) for path in root.rglob("*")] if root.exists() else []
