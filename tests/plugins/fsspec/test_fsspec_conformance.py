"""The storage conformance suite against remote-file-system: S3 (moto's server, with
authentication) and file://."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Hashable
from pathlib import Path

import pytest
from _s3_server import S3Server

from shipway.storage import Storage
from shipway.testing import WRONG_TOKEN, StorageConformance
from shipway_fsspec import RemoteFileSystem


class TestS3Conformance(StorageConformance):
    @pytest.fixture
    def storage(self, s3: S3Server) -> Storage:
        prefix = uuid.uuid4().hex[:8]
        return RemoteFileSystem(basepath=f"s3://flows/{prefix}", settings=s3.settings())

    @pytest.fixture
    def bad_credentials_storage(self, storage: Storage, s3: S3Server) -> Storage:
        assert isinstance(storage, RemoteFileSystem)
        return RemoteFileSystem(basepath=storage.basepath, settings=s3.settings(secret=WRONG_TOKEN))

    def storage_snapshot(self, storage: Storage) -> Collection[Hashable]:
        import s3fs

        assert isinstance(storage, RemoteFileSystem)
        fs = s3fs.S3FileSystem(
            skip_instance_cache=True,
            key=storage.settings["key"].get_secret_value(),
            secret=storage.settings["secret"].get_secret_value(),
            client_kwargs=storage.settings["client_kwargs"],
        )
        return fs.find("flows")


class TestFileUrlConformance(StorageConformance):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> Storage:
        return RemoteFileSystem(basepath=f"file://{tmp_path / 'shared'}")

    def storage_snapshot(self, storage: Storage) -> Collection[Hashable]:
        assert isinstance(storage, RemoteFileSystem)
        root = Path(storage.basepath.removeprefix("file://"))
        return [str(p) for p in root.rglob("*")] if root.exists() else []
