"""``git-repository``: runs get their code from one commit of a git repository."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import Field, field_validator

from shipway.storage import (
    Storage,
    StorageCredentialsRejected,
    StorageError,
    cache_key,
    mask_url,
)
from shipway_git._checkout import NotACheckout, read_checkout
from shipway_git._remote import Remote

__all__ = ["GitRepository"]


class GitRepository(Storage):
    """A git repository: ``push`` records a commit, a run fetches that commit alone.

    Without ``ref``, a push records the commit of the local checkout the deployment is
    applied from (and refuses uncommitted changes unless ``--allow-dirty``): commit and
    ``git push`` first. With ``ref`` (a branch, a tag or a commit id), a push records the
    commit ``ref`` names in the repository at that moment.
    """

    type: Literal["git-repository"] = "git-repository"
    url: str = Field(
        description="The repository: https://, http://, ssh://, git:// or a local path. "
        "Never put a password in it: use credentials_env or credentials_file."
    )
    ref: str | None = Field(
        default=None,
        description="A branch, tag or commit whose commit a push records; "
        "default: the commit of the local checkout.",
    )
    subdirectory: str | None = Field(
        default=None,
        description="The project's directory inside the repository (where shipway.yaml "
        "is); default: the top level.",
    )
    username: str = Field(
        default="x-access-token",
        description="The user name sent with the token over HTTP(S).",
    )
    credentials_env: str | None = Field(
        default=None,
        description="The environment variable holding a token (read where the push or "
        "pull runs; give the run that variable through its infrastructure's env).",
    )
    credentials_file: str | None = Field(
        default=None,
        description="A file holding a token (a mounted secret, say).",
    )

    @field_validator("url")
    @classmethod
    def _no_password_in_url(cls, value: str) -> str:
        if mask_url(value) != value:
            raise ValueError(
                "must not contain a password (it would be stored and shown): "
                "put the token in credentials_env or credentials_file"
            )
        return value

    @field_validator("subdirectory")
    @classmethod
    def _relative_subdirectory(cls, value: str | None) -> str | None:
        if value is None:
            return None
        path = PurePosixPath(value)
        if path.is_absolute() or ".." in path.parts:
            raise ValueError("must be a path inside the repository, such as 'projects/etl'")
        return path.as_posix().strip("/") or None

    def location(self) -> str:
        return self.url + (f" ({self.subdirectory})" if self.subdirectory else "")

    def cache_key(self, ref: str) -> str:
        # One checkout per commit, whatever the subdirectory: see working_dir.
        return cache_key(self.type, self.url, ref)

    def working_dir(self, pulled: Path) -> Path:
        return pulled / self.subdirectory if self.subdirectory else pulled

    def push(self, project_dir: Path, *, allow_dirty: bool = False) -> str:
        remote = self._remote()
        if self.ref is not None:
            return remote.resolve(self.ref)
        try:
            checkout = read_checkout(project_dir)
        except NotACheckout as exc:
            raise StorageError(
                self.describe(),
                None,
                str(exc),
                hint="Run `git init`, commit and push the project, or set 'ref' to "
                "deploy a branch, tag or commit of the repository.",
            ) from None
        self._check_subdirectory(checkout.toplevel, Path(project_dir))
        if checkout.uncommitted and not allow_dirty:
            shown = ", ".join(checkout.uncommitted[:5])
            more = len(checkout.uncommitted) - 5
            raise StorageError(
                self.describe(),
                checkout.commit,
                f"the checkout has uncommitted changes ({shown}"
                + (f" and {more} more" if more > 0 else "")
                + "): runs would not get them",
                hint="Commit and push them, or pass --allow-dirty to deploy the last commit.",
            )
        remote.check()
        return checkout.commit

    def pull(self, ref: str, destination: Path) -> None:
        remote = self._remote(ref)
        try:
            remote.fetch(ref, destination)
        except ValueError as exc:  # a path or link that would leave the checkout
            raise StorageError(self.describe(), ref, f"refused: {exc}") from None
        if self.subdirectory and not (destination / self.subdirectory).is_dir():
            raise StorageError(
                self.describe(),
                ref,
                f"the commit has no directory {self.subdirectory!r}",
                hint="Fix 'subdirectory', or push a commit that has it.",
            )

    def preview(self, ref: str | None = None) -> str:
        recorded = (
            f"the commit {self.ref!r} names in {self.url}"
            if self.ref
            else "the commit of the local checkout (refused if it has uncommitted changes)"
        )
        token = self.credentials_env or self.credentials_file
        credentials = f", with the token from {token}" if token else ""
        where = f", project in {self.subdirectory}/" if self.subdirectory else ""
        return (
            f"push: record {recorded}\n"
            f"pull: fetch commit {ref or '<ref>'} alone (depth 1) from {self.url}"
            f"{credentials}{where}"
        )

    def _check_subdirectory(self, toplevel: Path, project_dir: Path) -> None:
        relative = project_dir.resolve().relative_to(toplevel).as_posix()
        relative = "" if relative == "." else relative
        if relative != (self.subdirectory or ""):
            raise StorageError(
                self.describe(),
                None,
                f"the project directory is {relative or 'the top level'!s} of the checkout, "
                f"but subdirectory is {self.subdirectory or 'not set'}",
                hint=f"Set subdirectory: {relative}" if relative else "Remove 'subdirectory'.",
            )

    def _remote(self, ref: str | None = None) -> Remote:
        return Remote(self.url, self.describe(), self.username, self._token(ref))

    def _token(self, ref: str | None) -> str | None:
        if self.credentials_env:
            token = os.environ.get(self.credentials_env)
            if not token:
                raise StorageCredentialsRejected(
                    self.describe(),
                    ref,
                    f"credentials_env names {self.credentials_env}, which is not set here",
                    hint="Set it where the code is pushed and pulled (for a run: in the "
                    "infrastructure's env, as a secret reference).",
                )
            return token.strip()
        if self.credentials_file:
            try:
                return Path(self.credentials_file).expanduser().read_text("utf-8").strip()
            except OSError as exc:
                raise StorageCredentialsRejected(
                    self.describe(),
                    ref,
                    f"cannot read credentials_file {self.credentials_file}: {exc.strerror or exc}",
                ) from None
        return None
