"""Secrets on an agent: references read from the agent's environment or secrets folder at
run start, and every secret of a run masked in its stored logs and state messages."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from _agent_helpers import Agents, apply, log_text
from shipway.states import StateType
from shipway.store import Store

S = StateType

DB_PASSWORD = "db-pw-5e8c1a7b"
API_TOKEN = "api-tok-93c0d2aa"
RUN_TOKEN = "run-tok-77aa01fe"
URL_PASSWORD = "url-pw-0b1c2d3e"
FILE_SECRET = "file-secret-6f6f"

PRINTER = """
    import os
    from shipway import flow

    @flow
    def printer(names: str) -> None:
        for name in names.split(","):
            print(f"{name}={os.environ.get(name)}", flush=True)
        print(f"all at once: {os.environ.get('DB_PASSWORD')}+{os.environ.get('API_TOKEN')}")
"""


@pytest.fixture
def printer(project: Path) -> Path:
    (project / "flows" / "printer.py").write_text(textwrap.dedent(PRINTER).lstrip())
    return project


def _apply_printer(store: Store, project: Path, env: dict[str, object]) -> None:
    apply(
        store,
        "printer",
        project,
        infrastructure={"type": "process", "env": env},
        parameters={"names": ",".join(env)},
    )


def test_a_flow_printing_its_secrets_shows_them_masked_in_its_logs(
    store: Store, agents: Agents, printer: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPWAY_SECRET_DB_PASSWORD", DB_PASSWORD)
    env = {
        "DB_PASSWORD": {"secret": "db-password"},
        "DB_COPY": {"secret": "db-password"},  # a name that looks harmless: still masked
        "API_TOKEN": API_TOKEN,
        "DATABASE_URL": f"postgresql://etl:{URL_PASSWORD}@db.internal/etl",
        "REGION": "eu-west-1",
    }
    _apply_printer(store, printer, env)
    inherited = ["SHIPWAY_SECRET_DB_PASSWORD", "SHIPWAY_SECRET_KEY"]  # the agent's, not the run's
    run = store.create_flow_run(
        "printer",
        parameters={"names": ",".join([*env, "RUN_TOKEN", *inherited])},
        overrides={"env": {"RUN_TOKEN": RUN_TOKEN}},
    )

    agent = agents.run_once()

    record = store.get_flow_run(run.id)
    assert record.state is S.COMPLETED, record.state_message
    logs = log_text(store, run.id)
    for secret in (DB_PASSWORD, API_TOKEN, RUN_TOKEN, URL_PASSWORD):
        assert secret not in logs
        assert secret not in agent.output
    assert "DB_PASSWORD=********" in logs and "DB_COPY=********" in logs
    assert "API_TOKEN=********" in logs and "RUN_TOKEN=********" in logs
    assert "DATABASE_URL=postgresql://etl:********@db.internal/etl" in logs
    assert "all at once: ********+********" in logs
    assert "REGION=eu-west-1" in logs
    assert "SHIPWAY_SECRET_DB_PASSWORD=None" in logs and "SHIPWAY_SECRET_KEY=None" in logs
    # The store keeps the reference, never what it resolved to.
    assert record.infrastructure["env"]["DB_PASSWORD"] == {"secret": "db-password"}


def test_a_secret_file_in_the_secrets_folder_is_read(
    store: Store,
    agents: Agents,
    printer: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "secrets"
    (folder / "warehouse").mkdir(parents=True)
    (folder / "warehouse" / "password").write_text(FILE_SECRET + "\n")
    monkeypatch.setenv("SHIPWAY_SECRETS_DIR", str(folder))
    _apply_printer(store, printer, {"WAREHOUSE_LOGIN": {"secret": "warehouse/password"}})
    run = store.create_flow_run("printer")

    agents.run_once()

    record = store.get_flow_run(run.id)
    assert record.state is S.COMPLETED, record.state_message
    logs = log_text(store, run.id)
    assert "WAREHOUSE_LOGIN=********" in logs and FILE_SECRET not in logs


def test_a_missing_secret_fails_the_run_with_what_to_set(
    store: Store, agents: Agents, printer: Path, shipway_home: Path
) -> None:
    _apply_printer(store, printer, {"DB_PASSWORD": {"secret": "db-password"}})
    run = store.create_flow_run("printer")

    agents.run_once()

    record = store.get_flow_run(run.id)
    assert record.state is S.FAILED
    assert record.state_message == (
        "secret 'db-password' not found: set SHIPWAY_SECRET_DB_PASSWORD or create "
        f"{shipway_home / 'secrets' / 'db-password'}"
    )
    assert record.identifier is None  # nothing was started
