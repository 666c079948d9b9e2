"""One archive per project: reproducible bytes, and unpacking that refuses anything that
would land outside the destination."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from shipway.storage import (
    HostileArchive,
    extract_archive_bytes,
    project_files,
    write_archive,
)


def _archive_of(project: Path) -> bytes:
    buffer = io.BytesIO()
    write_archive(project_files(project), buffer)
    return buffer.getvalue()


def _tar(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def _file(name: str) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), b"owned"


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def test_round_trip_keeps_content_and_executable_bit(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "pkg").mkdir(parents=True)
    (project / "pkg" / "flow.py").write_text("print('hi')\n", encoding="utf-8")
    (project / "run.sh").write_text("#!/bin/sh\n", encoding="utf-8")
    (project / "run.sh").chmod(0o755)
    data = _archive_of(project)
    assert data == _archive_of(project)  # reproducible

    destination = tmp_path / "out"
    destination.mkdir()
    extract_archive_bytes(data, destination)

    assert (destination / "pkg" / "flow.py").read_text(encoding="utf-8") == "print('hi')\n"
    assert (destination / "run.sh").stat().st_mode & 0o100
    assert not (destination / "pkg" / "flow.py").stat().st_mode & 0o100


@pytest.mark.parametrize(
    ("members", "problem"),
    [
        ([_file("../escaped.txt")], "outside the destination"),
        ([_file("a/../../escaped.txt")], "outside the destination"),
        ([_file("/tmp/escaped-absolute.txt")], "absolute path"),
        ([_link("evil", "/etc")], "link"),
        ([_link("evil", "../..")], "link"),
        ([_link("hard", "/etc/passwd", tarfile.LNKTYPE)], "link"),
        ([_file("twice.txt"), _file("twice.txt")], "twice"),
    ],
)
def test_hostile_members_are_refused(
    tmp_path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], problem: str
) -> None:
    destination = tmp_path / "cache" / "entry"
    destination.mkdir(parents=True)

    with pytest.raises(HostileArchive, match=problem):
        extract_archive_bytes(_tar(*members), destination)

    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "cache" / "escaped.txt").exists()
    assert not Path("/tmp/escaped-absolute.txt").exists()
    assert not (destination / "evil").exists()


def test_a_corrupt_archive_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HostileArchive, match="corrupt"):
        extract_archive_bytes(b"\x1f\x8b this is not gzip", tmp_path)
    with pytest.raises(HostileArchive, match="corrupt"):
        extract_archive_bytes(b"plain text", tmp_path)
