"""Session-wide git servers on 127.0.0.1 for the git storage tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from _git_servers import GitServers, git_servers

import _ci

TOKEN = "shipway-test-git-token-4b1d"


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitServers]:
    if shutil.which("git") is None:
        _ci.unavailable("the git command is not installed (apt-get install git)", tests="git")
    root = tmp_path_factory.mktemp("git-repositories")
    logs = tmp_path_factory.mktemp("git-logs")
    with git_servers(root, logs, TOKEN) as started:
        yield started
