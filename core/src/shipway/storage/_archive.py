"""One project as one archive (gzip'd tar), written reproducibly and unpacked safely.

For storage plugins that keep a project as a single object (``shipway-fsspec``). Unpacking
refuses anything a push never writes and that could reach outside the destination:
absolute paths, ``..``, links, devices. Only regular files and directories come out,
with no permissions beyond the owner's executable bit.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
import zlib
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO

from shipway.storage._project import ProjectFile

__all__ = [
    "ARCHIVE_SUFFIX",
    "HostileArchive",
    "extract_archive",
    "extract_archive_bytes",
    "write_archive",
]

ARCHIVE_SUFFIX = ".tar.gz"
_CHUNK = 1024 * 1024


class HostileArchive(ValueError):
    """The archive is corrupt, or holds a path that would land outside the destination.
    Storage plugins turn it into a ``StorageError`` naming the storage and the ref."""


def write_archive(files: Sequence[ProjectFile], stream: BinaryIO) -> None:
    """Write ``files`` to ``stream``: sorted, no timestamps, owners or other metadata, so
    the same files always give the same bytes."""
    with (
        # Level 1: most of gzip's gain on source code at a fraction of level 6's time (a
        # 10 MB project of data files compresses in a tenth of a second instead of 0.7 s).
        gzip.GzipFile(fileobj=stream, mode="wb", mtime=0, compresslevel=1) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as archive,
    ):
        for file in sorted(files, key=lambda f: f.relative):
            info = tarfile.TarInfo(file.relative)
            info.size = file.path.stat().st_size
            info.mode = 0o755 if file.executable else 0o644
            with open(file.path, "rb") as content:
                archive.addfile(info, content)


def extract_archive(stream: BinaryIO, destination: Path) -> None:
    """Unpack an archive written by :func:`write_archive` into ``destination`` (an empty
    directory). Raises :class:`HostileArchive` before writing anything a member names
    outside it; a corrupt archive raises it too."""
    root = Path(destination).resolve()
    try:
        with tarfile.open(fileobj=stream, mode="r:gz") as archive:
            for member in archive:
                target = _target(root, member)
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                source = archive.extractfile(member)
                if source is None:  # pragma: no cover - a regular file always has content
                    raise HostileArchive(f"{member.name!r} has no content")
                target.parent.mkdir(parents=True, exist_ok=True)
                _write_new_file(source, target, executable=bool(member.mode & stat.S_IXUSR))
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise HostileArchive(f"the archive is corrupt ({type(exc).__name__}: {exc})") from None


def extract_archive_bytes(data: bytes, destination: Path) -> None:
    """:func:`extract_archive` for an archive held in memory."""
    extract_archive(io.BytesIO(data), destination)


def _target(root: Path, member: tarfile.TarInfo) -> Path:
    name = member.name
    if not (member.isfile() or member.isdir()):
        raise HostileArchive(f"{name!r} is a link or a special file, which a push never writes")
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith(("/", "\\")) or ":" in path.parts[0]:
        raise HostileArchive(f"{name!r} is an absolute path")
    if any(part == ".." for part in path.parts) or "\\" in name or "\0" in name:
        raise HostileArchive(f"{name!r} would be written outside the destination")
    target = root.joinpath(*path.parts)
    # Nothing written so far is a link (links are refused), so this only guards bugs.
    if not target.resolve().is_relative_to(root):  # pragma: no cover
        raise HostileArchive(f"{name!r} would be written outside the destination")
    return target


def _write_new_file(source: IO[bytes], target: Path, *, executable: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(target, flags, 0o755 if executable else 0o644)
    except FileExistsError:
        raise HostileArchive(f"{target.name!r} appears twice in the archive") from None
    with os.fdopen(descriptor, "wb") as output:
        while chunk := source.read(_CHUNK):
            output.write(chunk)
