"""Runs whose code is on S3 (moto's server on 127.0.0.1): ``shipway run`` pushes at
start and pulls in the engine, the second run pulls nothing; a corrupt or hostile
archive, a missing one and wrong credentials end the run with one message naming the
storage and the ref, with nothing written outside the cache and no secret shown."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest
from _s3_server import S3Server

from _engine_runs import run_engine
from e2e._e2e_helpers import run_shipway
from shipway.jobs import Job

pytestmark = pytest.mark.slow

FLOW = "from shipway import flow\n\n\n@flow\ndef hello():\n    print('hello from s3')\n"


def _block(s3: S3Server, prefix: str, **settings: str) -> dict[str, object]:
    return {
        "type": "remote-file-system",
        "basepath": f"s3://flows/{prefix}",
        "settings": s3.settings(**settings),
    }


def _shipway(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return run_shipway(*args, cwd=cwd, env={"SHIPWAY_HOME": str(home)})


def test_shipway_run_pushes_then_pulls_and_the_second_run_pulls_nothing(
    s3: S3Server, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    (project / "flows").mkdir(parents=True)
    (project / "flows" / "hello.py").write_text(FLOW, encoding="utf-8")
    block = json.dumps(_block(s3, uuid.uuid4().hex[:8]))
    (project / "shipway.yaml").write_text(
        f"storage:\n  bucket: {block}\n"
        "deployments:\n  - name: s3\n    flow: flows/hello.py:hello\n"
        "    infrastructure: process\n    storage: bucket\n",
        encoding="utf-8",
    )
    home = tmp_path / "home"

    first = _shipway("run", "s3", cwd=project, home=home)
    second = _shipway("run", "s3", cwd=project, home=home)
    listed = _shipway("deployment", "inspect", "s3", "--json", cwd=project, home=home)

    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout == "hello from s3\n"
    entries = [p for p in (home / "storage-cache").iterdir() if p.is_dir() and p.name[0] != "."]
    assert len(entries) == 1, "the second run pulled again"
    assert s3.secret_key not in listed.stdout + first.stderr  # settings.secret is masked
    assert json.loads(listed.stdout)["storage"]["settings"]["secret"] == "********"


def _put(s3: S3Server, key: str, data: bytes) -> None:
    import s3fs

    fs = s3fs.S3FileSystem(
        key=s3.access_key,
        secret=s3.secret_key,
        client_kwargs={"endpoint_url": s3.endpoint},
        skip_instance_cache=True,
    )
    fs.pipe_file(key, data)


def _tar(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = link
        data = b"" if kind != tarfile.REGTYPE else b"owned"
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("archive", "problem"),
    [
        (_tar("../../escaped.txt"), "outside the destination"),
        (_tar("/tmp/shipway-escaped.txt"), "absolute path"),
        (_tar("flows", tarfile.SYMTYPE, "/etc"), "link"),
        (b"\x1f\x8b\x08 this is no archive", "corrupt"),
    ],
    ids=["dot-dot", "absolute", "symlink-out", "corrupt"],
)
def test_a_hostile_or_corrupt_archive_cannot_start(
    s3: S3Server, tmp_path: Path, archive: bytes, problem: str
) -> None:
    prefix = uuid.uuid4().hex[:8]
    ref = "f" * 64
    _put(s3, f"flows/{prefix}/{ref}.tar.gz", archive)
    cache = tmp_path / "deep" / "cache"
    job = Job(entrypoint="flows/hello.py:hello", storage=_block(s3, prefix), storage_ref=ref)

    result = run_engine(job, cwd=tmp_path, cache=cache)

    assert result.returncode == 3
    line = result.stderr.strip().splitlines()[0]
    assert f"storage remote-file-system s3://flows/{prefix} (ref {ref})" in line
    assert problem in line and "Traceback" not in result.stderr
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "deep" / "escaped.txt").exists()
    assert not Path("/tmp/shipway-escaped.txt").exists()
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".lock")] == []


def test_wrong_credentials_and_a_missing_archive_cannot_start(s3: S3Server, tmp_path: Path) -> None:
    prefix = uuid.uuid4().hex[:8]
    wrong = "wrong-secret-for-the-s3-tests"
    for block, problem in (
        (_block(s3, prefix, secret=wrong), "refused the credentials"),
        (_block(s3, prefix), "no project was pushed with this ref"),
    ):
        job = Job(entrypoint="flows/hello.py:hello", storage=block, storage_ref="a" * 64)
        result = run_engine(job, cwd=tmp_path, cache=tmp_path / "cache")
        assert result.returncode == 3
        assert problem in result.stderr and f"(ref {'a' * 64})" in result.stderr
        assert wrong not in result.stderr and s3.secret_key not in result.stderr
