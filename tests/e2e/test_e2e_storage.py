"""Runs whose code exists only in a git repository (served on 127.0.0.1 by the tests):
``deployment apply`` records the commit, an agent's run pulls it, a second run pulls
nothing; an unreachable server, wrong credentials or an unknown commit end the run with
one message naming the storage and the ref, and no secret."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from _e2e_helpers import run_shipway, write_file

from _engine_runs import run_engine
from _git_servers import GitServers, new_bare_repository, servers
from shipway.jobs import Job

__all__ = ["servers"]

pytestmark = pytest.mark.slow

FLOW = """
from pathlib import Path

from shipway import flow


@flow
def hello(name: str = "world"):
    here = Path(__file__).resolve().parent.parent
    print(f"hello {name} from git; data={Path('data.txt').read_text().strip()}; in {here}")
"""


def _repository(
    tmp_path: Path, servers: GitServers, storage: Callable[[str], str]
) -> tuple[Path, str, str]:
    """A checkout committed and pushed to a new repository ``name`` on the servers, whose
    shipway.yaml has the storage block ``storage(name)``."""
    checkout = tmp_path / "checkout"
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    write_file(checkout, "flows/hello.py", FLOW)
    write_file(checkout, "data.txt", "from-the-repository\n")
    write_file(
        checkout,
        "shipway.yaml",
        f"""
        storage:
          code: {storage(name)}
        deployments:
          - name: from-git
            flow: flows/hello.py:hello
            infrastructure: process
            storage: code
        """,
    )
    commit = new_bare_repository(servers, name, checkout)
    return checkout, name, commit


def _stored_run(home: Path, cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Create a run of from-git, let an agent run it, and return its logs."""
    environment = {"SHIPWAY_HOME": str(home), **(env or {})}
    created = run_shipway("deployment", "run", "from-git", *args, cwd=cwd, env=environment)
    assert created.returncode == 0, created.stderr
    run_id = created.stdout.strip()
    agent = run_shipway("agent", "start", "--run-once", cwd=cwd, env=environment, timeout=120)
    assert agent.returncode == 0, agent.stderr
    logs = run_shipway("flow-run", "logs", run_id, cwd=cwd, env=environment)
    shown = run_shipway("flow-run", "inspect", run_id, "--json", cwd=cwd, env=environment)
    state = json.loads(shown.stdout)["state"]
    return f"{state}\n{logs.stdout}{logs.stderr}"


def test_an_agent_runs_code_that_exists_only_in_the_repository(
    tmp_path: Path, servers: GitServers
) -> None:
    checkout, _, commit = _repository(
        tmp_path, servers, lambda name: f"{{type: git-repository, url: {servers.daemon(name)}}}"
    )
    home = tmp_path / "home"

    applied = run_shipway("deployment", "apply", cwd=checkout, env={"SHIPWAY_HOME": str(home)})
    assert applied.returncode == 0, applied.stderr
    assert f"ref {commit}" in applied.stderr
    shutil.rmtree(checkout)  # the code is now only in the repository
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    first = _stored_run(home, elsewhere)
    second = _stored_run(home, elsewhere)

    cache = home / "storage-cache"
    assert first.startswith("Completed"), first
    assert "hello world from git; data=from-the-repository; in " + str(cache) in first
    assert second.startswith("Completed"), second
    entries = [p for p in cache.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(entries) == 1, "the second run pulled again"


def test_bad_storage_ends_the_run_with_one_message(tmp_path: Path, servers: GitServers) -> None:
    checkout, name, _ = _repository(
        tmp_path, servers, lambda name: f"{{type: git-repository, url: {servers.daemon(name)}}}"
    )
    home = tmp_path / "home"
    env = {"SHIPWAY_HOME": str(home), "GIT_TOKEN": "wrong-token-e2e-31337"}
    applied = run_shipway("deployment", "apply", cwd=checkout, env=env)
    assert applied.returncode == 0, applied.stderr
    # A push to a server that cannot be reached is refused at once, with one message.
    refused = run_shipway(
        "run", "from-git", "--override", "storage.url=git://127.0.0.1:9/x.git", cwd=checkout
    )
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "cannot reach the repository" in refused.stderr

    # Runs of the applied deployment, with their storage overridden for each.
    unreachable = _stored_run(home, checkout, "--override", "storage.url=git://127.0.0.1:9/x.git")
    wrong_token = _stored_run(
        home,
        checkout,
        "--override",
        f"storage.url={servers.http(name)}",
        "--override",
        "storage.credentials_env=GIT_TOKEN",
        env=env,
    )

    for output, problem in (
        (unreachable, "cannot reach the repository"),
        (wrong_token, "refused the credentials"),
    ):
        assert output.startswith("Failed"), output
        assert "storage git-repository" in output and "(ref " in output
        assert problem in output
        assert "wrong-token-e2e-31337" not in output
        assert "Traceback" not in output


def test_an_unknown_commit_cannot_start(tmp_path: Path, servers: GitServers) -> None:
    _, name, _ = _repository(
        tmp_path, servers, lambda name: "{type: local-file-system, basepath: /x}"
    )
    job = Job(
        entrypoint="flows/hello.py:hello",
        storage={"type": "git-repository", "url": servers.daemon(name)},
        storage_ref="1" * 40,
    )
    cache = tmp_path / "cache"
    result = run_engine(job, cwd=tmp_path, cache=cache)
    assert result.returncode == 3
    line = result.stderr.strip().splitlines()[0]
    assert f"storage git-repository {servers.daemon(name)} (ref {'1' * 40})" in line
    assert "no such commit" in line
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".lock")] == []


def test_deployment_push_sends_new_code_that_later_runs_get(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shared = tmp_path / "shared"
    write_file(project, "flows/hello.py", FLOW)
    write_file(project, "data.txt", "first\n")
    write_file(
        project,
        "shipway.yaml",
        f"""
        storage:
          shared: {{type: local-file-system, basepath: {shared}}}
        deployments:
          - name: from-git
            flow: flows/hello.py:hello
            infrastructure: process
            storage: shared
          - name: in-place
            flow: flows/hello.py:hello
            infrastructure: process
        """,
    )
    home = tmp_path / "home"
    env = {"SHIPWAY_HOME": str(home)}
    assert run_shipway("deployment", "apply", cwd=project, env=env).returncode == 0
    first = _stored_run(home, tmp_path)

    (project / "data.txt").write_text("second\n", encoding="utf-8")
    pushed = run_shipway("deployment", "push", "--all", cwd=tmp_path, env=env)
    without = run_shipway("deployment", "push", "in-place", cwd=tmp_path, env=env)
    second = _stored_run(home, tmp_path)

    assert "data=first" in first and first.startswith("Completed"), first
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.startswith("updated   from-git (ref "), pushed.stdout
    assert "data=second" in second, second
    assert without.returncode == 2 and "has no storage" in without.stderr
    assert len([p for p in shared.iterdir() if not p.name.startswith(".")]) == 2
