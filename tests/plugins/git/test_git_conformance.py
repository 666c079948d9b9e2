"""The storage conformance suite against git-repository: a repository served by
``git daemon``, and one behind HTTP that wants a token."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from _git_servers import GitServers, new_bare_repository
from shipway.storage import Storage
from shipway.testing import WRONG_TOKEN, StorageConformance, write_storage_project
from shipway_git import GitRepository

_IGNORED = "*.log\nscratch/\n__pycache__/\n.venv/\n"


def _committed_project(tmp_path: Path, servers: GitServers) -> tuple[Path, str]:
    """The suite's project committed (what .shipwayignore leaves out is git-ignored too:
    for git, the commit is what is pushed) in a new repository on the servers."""
    project = write_storage_project(tmp_path / "project")
    (project / ".gitignore").write_text(_IGNORED, encoding="utf-8")
    name = f"conformance-{uuid.uuid4().hex[:8]}"
    new_bare_repository(servers, name, project)
    return project, name


class _CommittedProject(StorageConformance):
    """The suite's project, committed in a repository of its own on the servers."""

    @pytest.fixture
    def repository(self, tmp_path: Path, servers: GitServers) -> tuple[Path, str]:
        return _committed_project(tmp_path, servers)

    @pytest.fixture
    def project_dir(self, repository: tuple[Path, str]) -> Path:
        return repository[0]


class TestGitDaemonConformance(_CommittedProject):
    @pytest.fixture
    def storage(self, repository: tuple[Path, str], servers: GitServers) -> Storage:
        return GitRepository(url=servers.daemon(repository[1]))


class TestGitHttpWithTokenConformance(_CommittedProject):
    @pytest.fixture
    def storage(
        self, repository: tuple[Path, str], servers: GitServers, monkeypatch: pytest.MonkeyPatch
    ) -> Storage:
        monkeypatch.setenv("CONFORMANCE_GIT_TOKEN", servers.token)
        return GitRepository(
            url=servers.http(repository[1]), credentials_env="CONFORMANCE_GIT_TOKEN"
        )

    @pytest.fixture
    def bad_credentials_storage(self, storage: Storage, tmp_path: Path) -> Storage:
        token_file = tmp_path / "wrong-token"
        token_file.write_text(WRONG_TOKEN, encoding="utf-8")
        assert isinstance(storage, GitRepository)
        return storage.model_copy(
            update={"credentials_env": None, "credentials_file": str(token_file)}
        )
