"""The local checkout a push records: its top level, its commit, and what is uncommitted."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from dulwich import porcelain
from dulwich.errors import NotGitRepository
from dulwich.repo import Repo

__all__ = ["Checkout", "NotACheckout", "read_checkout"]


class NotACheckout(ValueError):
    """The project directory is not inside a git checkout, or the checkout has no commit."""


@dataclasses.dataclass(frozen=True)
class Checkout:
    toplevel: Path
    commit: str
    uncommitted: tuple[str, ...]
    """Paths with staged or unstaged changes, and untracked files git does not ignore."""


def read_checkout(project_dir: Path) -> Checkout:
    try:
        repo = Repo.discover(str(project_dir))
    except NotGitRepository:
        raise NotACheckout(f"{project_dir} is not inside a git checkout") from None
    with repo:
        try:
            commit = repo.head().decode("ascii")
        except KeyError:
            raise NotACheckout(f"the checkout at {repo.path} has no commit yet") from None
        status = porcelain.status(repo)
        changed = [
            *(path for paths in status.staged.values() for path in paths),
            *status.unstaged,
            *status.untracked,
        ]
        names = sorted({_text(path) for path in changed})
        return Checkout(Path(repo.path).resolve(), commit, tuple(names))


def _text(path: bytes | str) -> str:
    return path.decode("utf-8", "replace") if isinstance(path, bytes) else path
