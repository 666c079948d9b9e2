"""Session-wide S3 server (moto's standalone server) for the fsspec storage tests."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest
from _s3_server import S3Server, s3_server

import _ci


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    for module in ("moto", "s3fs", "boto3"):
        if importlib.util.find_spec(module) is None:
            _ci.unavailable(
                f"{module} is not installed (pip install -r requirements-dev.txt)", tests="S3"
            )
    with s3_server(tmp_path_factory.mktemp("s3-logs")) as server:
        server.make_bucket("flows")
        yield server
