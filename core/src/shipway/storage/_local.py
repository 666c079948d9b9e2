"""``local-file-system``: a directory (a shared mount, say) that keeps each pushed project
in a sub-directory named by its content ref."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import Field

from shipway.storage._base import Storage
from shipway.storage._errors import (
    StorageCredentialsRejected,
    StorageError,
    StorageRefNotFound,
    StorageUnreachable,
)
from shipway.storage._project import content_ref, project_files

__all__ = ["LocalFileSystem"]


class LocalFileSystem(Storage):
    """Code kept in a directory every run can read: ``basepath/<ref>/``.

    A deployment without ``storage`` keeps today's behaviour (the run reads the code
    where the deployment's ``path`` says); this type is for a directory shared between
    the machine that applies and the machines (or containers, with the directory
    mounted) that run."""

    type: Literal["local-file-system"] = "local-file-system"
    basepath: str = Field(
        description="The directory pushed projects are kept in, one sub-directory per ref "
        "(created on the first push)."
    )

    def location(self) -> str:
        return self.basepath

    def _base(self) -> Path:
        return Path(self.basepath).expanduser()

    def push(self, project_dir: Path, *, allow_dirty: bool = False) -> str:
        files = project_files(project_dir)
        ref = content_ref(files)
        target = self._base() / ref
        if target.is_dir():  # content-addressed: already there, whole (renamed into place)
            return ref
        try:
            self._base().mkdir(parents=True, exist_ok=True)
            partial = Path(tempfile.mkdtemp(prefix=f".{ref}.", dir=self._base()))
        except OSError as exc:
            raise self._error(exc, None) from None
        try:
            for file in files:
                destination = partial / file.relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(file.path, destination)
                os.chmod(destination, 0o755 if file.executable else 0o644)
            os.chmod(partial, 0o755)
            try:
                os.rename(partial, target)
            except OSError:
                if not target.is_dir():
                    raise
        except OSError as exc:
            raise self._error(exc, ref) from None
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        return ref

    def pull(self, ref: str, destination: Path) -> None:
        base = self._base()
        if not base.is_dir():
            raise StorageUnreachable(
                self.describe(),
                ref,
                "the directory does not exist (is the shared volume mounted here?)",
            )
        source = base / ref
        if "/" in ref or "\\" in ref or ref in ("", ".", "..") or not source.is_dir():
            raise StorageRefNotFound(
                self.describe(),
                ref,
                "no project was pushed with this ref",
                hint="Push it with `shipway deployment push NAME` (or `deployment apply`).",
            )
        try:
            _copy_regular_files(source, Path(destination))
        except OSError as exc:
            raise self._error(exc, ref) from None

    def preview(self, ref: str | None = None) -> str:
        base = self._base()
        return (
            f"push: copy the project's files to {base / '<content sha256>'}\n"
            f"pull: copy {base / (ref or '<ref>')} into the run's pull cache"
        )

    def _error(self, exc: OSError, ref: str | None) -> StorageError:
        reason = exc.strerror or str(exc)
        if exc.errno in (errno.EACCES, errno.EPERM):
            return StorageCredentialsRejected(
                self.describe(),
                ref,
                f"permission denied: {reason}",
                hint="Check who may "
                "read and write the directory (the run's user, in a container too).",
            )
        return StorageError(self.describe(), ref, f"{reason} ({exc.filename or self.basepath})")


def _copy_regular_files(source: Path, destination: Path) -> None:
    """Copy the tree of regular files under ``source``; a link or a special file (which a
    push never writes) is refused, so nothing is read or written outside the two trees."""
    for directory, subdirectories, files in os.walk(source):
        base = Path(directory)
        relative = base.relative_to(source)
        for name in [*subdirectories, *files]:
            if (base / name).is_symlink():
                raise OSError(errno.ELOOP, "a pushed project holds no links", str(base / name))
        (destination / relative).mkdir(parents=True, exist_ok=True)
        for name in files:
            path = base / name
            if not path.is_file():
                raise OSError(errno.EINVAL, "not a regular file", str(path))
            shutil.copy2(path, destination / relative / name)
