"""``remote-file-system``: one content-addressed archive per pushed project, in any file
system fsspec knows."""

from __future__ import annotations

import io
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from shipway.storage import (
    ARCHIVE_SUFFIX,
    HostileArchive,
    Storage,
    StorageError,
    content_ref,
    extract_archive_bytes,
    is_secret_name,
    project_files,
    write_archive,
)
from shipway_fsspec._errors import storage_error

__all__ = ["RemoteFileSystem"]


class RemoteFileSystem(Storage):
    """``basepath/<content sha256>.tar.gz``: pushed once per content, pulled once per
    machine. ``settings`` go to ``fsspec.filesystem(protocol, **settings)``; values under a
    secret-looking name (``secret``, ``key``, ``token``, ``password``...) are kept as
    secrets: encrypted in the store, masked wherever they are shown."""

    type: Literal["remote-file-system"] = "remote-file-system"
    basepath: str = Field(
        description="Where archives are kept: s3://bucket/prefix, gs://, az://, "
        "sftp://host/path, file:///srv/flows (any fsspec URL)."
    )
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="Options for the file system, e.g. {client_kwargs: {endpoint_url: ...}} "
        "for S3. Prefer credentials from the environment (AWS_ACCESS_KEY_ID...).",
    )

    @field_validator("basepath")
    @classmethod
    def _has_a_protocol(cls, value: str) -> str:
        if "://" not in value:
            raise ValueError("must be a URL such as s3://bucket/flows or file:///srv/flows")
        return value.rstrip("/")

    @field_validator("settings", mode="before")
    @classmethod
    def _secrets_kept_secret(cls, value: Any) -> Any:
        return _secrets_as_secret_str(value) if isinstance(value, Mapping) else value

    def location(self) -> str:
        return self.basepath

    def push(self, project_dir: Path, *, allow_dirty: bool = False) -> str:
        files = project_files(project_dir)
        ref = content_ref(files)
        path = self._archive_path(ref)
        try:
            fs = self._file_system()
            if fs.exists(path):  # content-addressed: already there
                return ref
            buffer = io.BytesIO()
            write_archive(files, buffer)
            if _is_local(fs):  # an object store writes whole objects; a disk may not
                partial = f"{path}.{uuid.uuid4().hex}.partial"
                fs.makedirs(self.basepath_in(fs), exist_ok=True)
                fs.pipe_file(partial, buffer.getvalue())
                fs.mv(partial, path)
            else:
                fs.pipe_file(path, buffer.getvalue())
        except StorageError:
            raise
        except Exception as exc:
            raise storage_error(exc, self.describe(), ref) from None
        return ref

    def pull(self, ref: str, destination: Path) -> None:
        if not ref or "/" in ref or ref.startswith("."):
            raise storage_error(FileNotFoundError(ref), self.describe(), ref)
        try:
            data = self._file_system().cat_file(self._archive_path(ref))
        except StorageError:
            raise
        except Exception as exc:
            raise storage_error(exc, self.describe(), ref) from None
        try:
            extract_archive_bytes(data, destination)
        except HostileArchive as exc:
            raise StorageError(self.describe(), ref, f"refused the archive: {exc}") from None

    def preview(self, ref: str | None = None) -> str:
        return (
            f"push: upload the project as {self.basepath}/<content sha256>{ARCHIVE_SUFFIX} "
            "(skipped when it is there)\n"
            f"pull: download {self._archive_path(ref or '<ref>')} and unpack it into the "
            "run's pull cache"
        )

    def basepath_in(self, fs: Any) -> str:
        """``basepath`` as the file system names it (without its protocol)."""
        return str(fs._strip_protocol(self.basepath))

    def _archive_path(self, ref: str) -> str:
        return f"{self.basepath}/{ref}{ARCHIVE_SUFFIX}"

    def _file_system(self) -> Any:
        import fsspec  # loaded on first use: resolving the type stays cheap

        protocol = self.basepath.split("://", 1)[0]
        try:
            return fsspec.filesystem(protocol, **_revealed(self.settings))
        except (ImportError, ValueError) as exc:
            raise StorageError(
                self.describe(),
                None,
                f"no file system for {protocol}:// here ({exc})",
                hint=f"Install its package where the code is pushed and pulled, e.g. "
                f"pip install 'shipway-fsspec[{_EXTRAS.get(protocol, protocol)}]'.",
            ) from None


_EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "az": "azure", "abfs": "azure"}


def _is_local(fs: Any) -> bool:
    protocols = fs.protocol if isinstance(fs.protocol, (tuple, list)) else (fs.protocol,)
    return bool({"file", "local"} & set(protocols))


def _secrets_as_secret_str(value: Mapping[str, Any]) -> dict[str, Any]:
    return {
        str(key): SecretStr(item)
        if isinstance(item, str) and is_secret_name(str(key))
        else _secrets_as_secret_str(item)
        if isinstance(item, Mapping)
        else item
        for key, item in value.items()
    }


def _revealed(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Mapping):
        return {key: _revealed(item) for key, item in value.items()}
    return value
