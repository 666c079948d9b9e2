"""``SHIPWAY_API_URL``: ``deployment run``, ``flow-run ...`` and ``work-queue ...`` through
a real server, printing exactly what they print from the database (secrets masked the
same way), with no database they could open; a wrong or missing token, or a server that
is not there, is one message and the exit status of a refused or unreachable store."""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from _agent_helpers import Agents, wait_for, write_project
from _cli import shipway_main
from _planted_secrets import FLOW, PLANTED, PROJECT, REFERENCED, RUN_TOKEN
from _server_process import (
    TOKEN,
    UNREACHABLE_DATABASE,
    ServerProcess,
    free_port,
    start_remote_agent,
)
from shipway.exit_status import ExitStatus
from shipway.store import Store

WRONG_TOKEN = "wrong-token-" + "w" * 30


@dataclasses.dataclass
class Shown:
    args: tuple[str, ...]
    exit_code: int
    output: str


Shipway = Callable[..., Shown]


@pytest.fixture
def leaky_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    project = write_project(tmp_path / "project")
    (project / "flows" / "leaky.py").write_text(textwrap.dedent(FLOW).lstrip())
    (project / "shipway.yaml").write_text(PROJECT)
    monkeypatch.chdir(project)
    monkeypatch.setenv("SHIPWAY_SECRET_DB_PASSWORD", REFERENCED)
    monkeypatch.delenv("SHIPWAY_DEBUG", raising=False)
    return project


@pytest.fixture
def shown() -> Iterator[list[Shown]]:
    """Every output a test printed, checked for secrets and tokens at its end."""
    outputs: list[Shown] = []
    yield outputs
    leaks = [
        f"shipway {' '.join(result.args)} prints {secret!r}:\n{result.output}"
        for result in outputs
        for secret in (*PLANTED, TOKEN, WRONG_TOKEN)
        if secret in result.output
    ]
    assert not leaks, "\n\n".join(leaks)


def runner(shown: list[Shown], monkeypatch: pytest.MonkeyPatch, **env: str | None) -> Shipway:
    """``shipway ARGS`` in this process with ``env`` (None: unset)."""

    def shipway(*args: str) -> Shown:
        with monkeypatch.context() as patched:
            for name, value in env.items():
                if value is None:
                    patched.delenv(name, raising=False)
                else:
                    patched.setenv(name, value)
            outcome = CliRunner().invoke(shipway_main, list(args))
        result = Shown(args, outcome.exit_code, outcome.stdout + outcome.stderr)
        shown.append(result)
        return result

    return shipway


@pytest.fixture
def database_cli(
    remote_server: ServerProcess, shown: list[Shown], monkeypatch: pytest.MonkeyPatch
) -> Shipway:
    """The CLI on the server's database, as before."""
    return runner(
        shown,
        monkeypatch,
        SHIPWAY_DATABASE_URL=remote_server.store_url,
        SHIPWAY_API_URL=None,
        SHIPWAY_API_TOKEN=None,
    )


def api_cli(
    server_url: str, shown: list[Shown], monkeypatch: pytest.MonkeyPatch, token: str | None
) -> Shipway:
    """The CLI through the server, with no database it could open."""
    return runner(
        shown,
        monkeypatch,
        SHIPWAY_DATABASE_URL=UNREACHABLE_DATABASE,
        SHIPWAY_API_URL=server_url,
        SHIPWAY_API_TOKEN=token,
    )


def test_the_run_commands_through_the_api_print_what_they_print_from_the_database(
    server_store: Store,
    remote_server: ServerProcess,
    leaky_directory: Path,
    database_cli: Shipway,
    shown: list[Shown],
    monkeypatch: pytest.MonkeyPatch,
    server_agents: Agents,
) -> None:
    assert database_cli("deployment", "apply").exit_code == 0
    agent = start_remote_agent(server_agents, remote_server, "-q", "default")
    api = api_cli(remote_server.url, shown, monkeypatch, TOKEN)

    watched = api(
        "deployment", "run", "leaky", "--override", f"env.RUN_TOKEN={RUN_TOKEN}", "--watch"
    )
    assert watched.exit_code == 0, watched.output
    assert "Completed" in watched.output
    assert "RUN_TOKEN is ********" in watched.output  # its logs, masked, followed over the API
    run_id = watched.output.split()[0]
    later = api("deployment", "run", "leaky", "--at", "+1h")
    assert later.exit_code == 0, later.output
    cancelled = api("flow-run", "cancel", later.output.split()[0])
    assert cancelled.exit_code == 0 and "Cancelled (it had not started)" in cancelled.output
    limited = api("work-queue", "set-limit", "default", "7")
    assert limited.exit_code == 0 and "limit 7" in limited.output
    wait_for(lambda: server_store.get_flow_run(run_id).state.is_final, what="the run")
    agent.stop()

    same = [
        ("flow-run", "ls", "-n", "100"),
        ("flow-run", "ls", "-n", "100", "--json"),
        ("flow-run", "ls", "-d", "leaky", "-s", "completed,cancelled", "--json"),
        ("flow-run", "inspect", run_id),
        ("flow-run", "inspect", run_id[:8], "--json"),
        ("flow-run", "logs", run_id),
        ("flow-run", "logs", run_id, "--follow"),
        ("work-queue", "ls"),
        ("work-queue", "ls", "--json"),
        ("deployment", "ls", "--json"),
        ("agent", "ls", "--all", "--json"),
    ]
    for args in same:
        through_api, from_database = api(*args), database_cli(*args)
        assert through_api.exit_code == from_database.exit_code == 0, through_api.output
        assert through_api.output == from_database.output, args
    logs = api("flow-run", "logs", run_id).output
    assert "API_TOKEN is ********" in logs and "DB_PASSWORD is ********" in logs


def test_a_command_without_the_secret_key_runs_with_overrides_through_the_api(
    server_store: Store,
    remote_server: ServerProcess,
    leaky_directory: Path,
    database_cli: Shipway,
    shown: list[Shown],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The server keeps the key: a machine with only the token still runs a deployment
    whose secrets are encrypted, with overrides (checked there when they can be)."""
    assert database_cli("deployment", "apply").exit_code == 0
    monkeypatch.delenv("SHIPWAY_SECRET_KEY")
    monkeypatch.setenv("SHIPWAY_HOME", str(tmp_path / "no-key-here"))
    api = api_cli(remote_server.url, shown, monkeypatch, TOKEN)

    created = api("deployment", "run", "leaky", "--at", "+1h", "--override", "env.EXTRA=1")

    assert created.exit_code == 0, created.output
    run = server_store.get_flow_run(created.output.split()[0])
    assert run.overrides == {"env": {"EXTRA": "1"}}
    bad = api("deployment", "run", "leaky", "--override", "no_such_field=1")
    assert bad.exit_code == 2 and "no_such_field" in bad.output  # checked all the same
    assert api("flow-run", "cancel", run.id).exit_code == 0


@pytest.mark.parametrize("token", [WRONG_TOKEN, None], ids=["wrong-token", "no-token"])
def test_a_wrong_or_missing_token_is_one_message_and_the_refused_store_status(
    remote_server: ServerProcess,
    leaky_directory: Path,
    shown: list[Shown],
    monkeypatch: pytest.MonkeyPatch,
    token: str | None,
) -> None:
    api = api_cli(remote_server.url, shown, monkeypatch, token)
    commands = [
        ("deployment", "run", "leaky"),
        ("flow-run", "ls"),
        ("flow-run", "inspect", "0000aaaa"),
        ("flow-run", "logs", "0000aaaa"),
        ("flow-run", "cancel", "0000aaaa"),
        ("work-queue", "ls"),
        ("work-queue", "set-limit", "default", "2"),
    ]
    for args in commands:
        result = api(*args)
        # As a database that refuses its URL (a wrong password): StoreRefused, exit 2.
        assert result.exit_code == ExitStatus.USER_ERROR, (args, result.output)
        assert result.output.startswith(
            f"Error: the shipway server at {remote_server.url} refused the request"
        ), result.output
        assert "Set SHIPWAY_API_TOKEN to the server's token." in result.output
        assert "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 2, result.output


def test_a_server_that_is_not_there_is_the_unreachable_store_status(
    leaky_directory: Path, shown: list[Shown], monkeypatch: pytest.MonkeyPatch, shipway_home: Path
) -> None:
    api = api_cli(f"http://127.0.0.1:{free_port()}", shown, monkeypatch, TOKEN)
    for args in [("flow-run", "ls"), ("work-queue", "ls"), ("deployment", "run", "leaky")]:
        result = api(*args)
        assert result.exit_code == ExitStatus.CANNOT_START, result.output  # as a database down
        assert "cannot be reached" in result.output
        assert "Traceback" not in result.output


def test_deployment_apply_says_it_needs_the_database(
    leaky_directory: Path, shown: list[Shown], monkeypatch: pytest.MonkeyPatch, shipway_home: Path
) -> None:
    api = api_cli("http://127.0.0.1:9", shown, monkeypatch, TOKEN)
    result = api("deployment", "apply")
    assert result.exit_code == ExitStatus.USER_ERROR
    assert result.output.splitlines() == [
        "Error: `shipway deployment apply` writes to the database itself, not through a "
        "shipway server (SHIPWAY_API_URL is set)",
        "Run it where the database is reachable, with SHIPWAY_API_URL unset "
        "(SHIPWAY_DATABASE_URL, or the SQLite file under SHIPWAY_HOME).",
    ]
    assert not shipway_home.exists()  # nothing opened, nothing created
