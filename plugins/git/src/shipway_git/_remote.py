"""Talking to the remote repository with dulwich: which commit a ref names, and one
commit's files fetched (depth 1). Every failure becomes a typed storage error naming the
repository (its URL without a password) and the ref, with the credential masked."""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn

from dulwich.client import HTTPUnauthorized, get_transport_and_path
from dulwich.errors import GitProtocolError, HangupException
from dulwich.object_store import iter_tree_contents
from dulwich.objects import Blob, Commit
from dulwich.repo import MemoryRepo

from shipway.storage import (
    StorageCredentialsRejected,
    StorageError,
    StorageRefNotFound,
    StorageUnreachable,
)

__all__ = ["Remote", "is_commit_id"]

_COMMIT_ID = re.compile(r"^[0-9a-f]{40}$")
_GITLINK = 0o160000  # a submodule: no content in this repository


def is_commit_id(ref: str) -> bool:
    return bool(_COMMIT_ID.match(ref))


class Remote:
    """One repository URL with its credentials; ``name`` is how errors call it."""

    def __init__(self, url: str, name: str, username: str, token: str | None) -> None:
        self.url = url
        self.name = name
        self._username = username
        self._token = token

    def _client(self) -> tuple[Any, str]:
        extra: dict[str, Any] = {}
        if self._token is not None:
            extra = {"username": self._username, "password": self._token}
        return get_transport_and_path(self.url, quiet=True, **extra)

    def resolve(self, ref: str) -> str:
        """The commit a branch, a tag or a commit id names on the remote."""
        if is_commit_id(ref):
            return ref
        with self._errors(ref):
            client, path = self._client()
            refs: dict[bytes, bytes] = dict(client.get_refs(path).refs)
        for name in (f"refs/tags/{ref}^{{}}", f"refs/tags/{ref}", f"refs/heads/{ref}", ref):
            commit = refs.get(name.encode())
            if commit:
                return commit.decode("ascii")
        raise StorageRefNotFound(
            self.name, ref, "no branch, tag or ref of that name in the repository"
        )

    def check(self, ref: str | None = None) -> None:
        """Reach the repository (and get past its authentication), or raise."""
        with self._errors(ref):
            client, path = self._client()
            client.get_refs(path)

    def fetch(self, commit: str, destination: Path) -> None:
        """Write the files of ``commit`` into ``destination`` (no ``.git``)."""
        repo = MemoryRepo()
        self.check(commit)  # reachable and authorised: a failure below is about the commit
        try:
            client, path = self._client()
            client.fetch(path, repo, determine_wants=_wants(commit), depth=1)
        except (HangupException, GitProtocolError) as exc:
            # git daemon and http-backend hang up on a want they do not serve
            raise StorageRefNotFound(
                self.name, commit, f"the repository has no such commit ({exc})"
            ) from None
        except Exception as exc:
            self.fail(exc, commit)
        try:
            fetched = repo[commit.encode("ascii")]
        except KeyError:
            fetched = None
        if not isinstance(fetched, Commit):
            raise StorageRefNotFound(self.name, commit, "the repository has no such commit")
        for relative, mode, blob_id in _files(repo, fetched):
            _write(destination, relative, mode, repo[blob_id])

    @contextlib.contextmanager
    def _errors(self, ref: str | None) -> Iterator[None]:
        """Turn dulwich's and the network's errors into storage errors."""
        try:
            yield
        except StorageError:
            raise
        except Exception as exc:
            self.fail(exc, ref)

    def fail(self, exc: BaseException, ref: str | None) -> NoReturn:
        text = str(exc) or type(exc).__name__
        if self._token:
            text = text.replace(self._token, "********")
        lowered = text.lower()
        if "not exported" in lowered:  # git daemon: no such repository, or not served
            raise StorageUnreachable(
                self.name, ref, f"no repository is served at this URL ({text})"
            ) from None
        if isinstance(exc, HTTPUnauthorized) or any(
            word in lowered for word in ("401", "403", "unauthorized", "forbidden", "denied")
        ):
            raise StorageCredentialsRejected(
                self.name,
                ref,
                f"the repository refused the credentials ({text})",
                hint="Check credentials_env / credentials_file and that the token may read "
                "the repository.",
            ) from None
        if any(word in lowered for word in ("not our ref", "unadvertised", "not found: ")):
            raise StorageRefNotFound(self.name, ref, f"the repository has no such commit ({text})")
        if isinstance(exc, (OSError, HangupException)) or "connect" in lowered:
            raise StorageUnreachable(
                self.name, ref, f"cannot reach the repository ({type(exc).__name__}: {text})"
            ) from None
        if isinstance(exc, GitProtocolError) and "404" in lowered:
            raise StorageUnreachable(self.name, ref, f"no repository at this URL ({text})")
        raise StorageError(self.name, ref, f"git failed: {type(exc).__name__}: {text}") from None


def _wants(commit: str) -> Callable[..., list[bytes]]:
    def determine_wants(refs: Any, depth: int | None = None) -> list[bytes]:
        return [commit.encode("ascii")]

    return determine_wants


def _files(repo: MemoryRepo, commit: Commit) -> Iterator[tuple[PurePosixPath, int, bytes]]:
    for entry in iter_tree_contents(repo.object_store, commit.tree):
        if entry.path is None or entry.mode is None or entry.sha is None:
            continue
        if entry.mode == _GITLINK:
            continue
        relative = PurePosixPath(entry.path.decode("utf-8", "surrogateescape"))
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise ValueError(f"the repository holds a path outside its tree: {relative}")
        yield relative, entry.mode, entry.sha


def _write(destination: Path, relative: PurePosixPath, mode: int, blob: Any) -> None:
    if not isinstance(blob, Blob):  # pragma: no cover - a tree entry names a blob
        raise ValueError(f"{relative} is not a file")
    target = destination.joinpath(*relative.parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    if stat.S_ISLNK(mode):
        link = blob.data.decode("utf-8", "surrogateescape")
        resolved = PurePosixPath(os.path.normpath(relative.parent / link))
        if PurePosixPath(link).is_absolute() or resolved.parts[:1] == ("..",):
            raise ValueError(f"{relative} is a link out of the repository ({link})")
        os.symlink(link, target)
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(target, flags, 0o755 if mode & 0o100 else 0o644)
    with os.fdopen(descriptor, "wb") as output:
        output.write(blob.data)
