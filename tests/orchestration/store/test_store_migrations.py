"""The schema is created on first use, re-opening is a no-op, concurrent starts are safe."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from shipway.store import open_store
from shipway.store._migrate import HEAD_REVISION, MIGRATIONS_DIR

TABLES = {"deployments", "flow_runs", "flow_run_states", "logs", "agents", "work_queues"}


def _revision(url: str) -> str | None:
    from shipway.store._url import database_url

    engine = sa.create_engine(database_url(url))
    try:
        with engine.connect() as connection:
            names = set(sa.inspect(connection).get_table_names())
            assert names >= TABLES
            return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def test_first_open_creates_the_schema(empty_store_url: str) -> None:
    store = open_store(empty_store_url)
    store.close()
    assert _revision(empty_store_url) == HEAD_REVISION


def test_reopening_is_a_no_op_and_keeps_data(empty_store_url: str) -> None:
    from _store_helpers import spec

    with open_store(empty_store_url) as store:
        store.apply_deployment(spec())
    with open_store(empty_store_url) as store:
        assert [d.name for d in store.list_deployments()] == ["hello"]
    assert _revision(empty_store_url) == HEAD_REVISION


def test_head_revision_matches_the_migration_scripts() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD_REVISION]


def test_sqlite_file_and_home_are_created(shipway_home: Path) -> None:
    assert not shipway_home.exists()
    with open_store() as store:
        assert store.backend == "sqlite"
        assert store.url == f"sqlite:///{shipway_home / 'shipway.db'}"
    assert (shipway_home / "shipway.db").is_file()


_OPEN = "import sys; from shipway.store import open_store; open_store(sys.argv[1]).close()"


@pytest.mark.slow
def test_processes_migrating_at_once(empty_store_url: str) -> None:
    processes = [
        subprocess.Popen([sys.executable, "-c", _OPEN, empty_store_url], stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=60)[1].decode() for p in processes]
    assert [p.returncode for p in processes] == [0] * 4, errors
    assert _revision(empty_store_url) == HEAD_REVISION


def test_database_url_forms(monkeypatch: pytest.MonkeyPatch, shipway_home: Path) -> None:
    from shipway.store import database_url, mask_url

    assert database_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert database_url("postgresql://h/db") == "postgresql+psycopg://h/db"
    monkeypatch.setenv("SHIPWAY_DATABASE_URL", "postgresql://x@y/z")
    assert database_url() == "postgresql+psycopg://x@y/z"
    assert mask_url("postgresql+psycopg://user:pa:ss@host:5432/db") == (
        "postgresql+psycopg://user:***@host:5432/db"
    )
    assert mask_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_bad_urls_are_one_clear_error() -> None:
    from shipway.store import StoreError

    with pytest.raises(StoreError, match="not a database URL"):
        open_store("not a url")
    with pytest.raises(StoreError, match="unsupported database 'mysql'"):
        open_store("mysql://u:secret@h/db")


def test_an_unusable_home_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shipway.store import StoreError

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("SHIPWAY_HOME", str(blocker / "home"))
    monkeypatch.delenv("SHIPWAY_DATABASE_URL", raising=False)
    with pytest.raises(StoreError, match="cannot create the folder") as caught:
        open_store()
    assert "SHIPWAY_HOME" in (caught.value.hint or "")


def test_upgrading_from_the_first_schema_fills_each_run_s_infrastructure_type(
    empty_store_url: str,
) -> None:
    """A store made by an older shipway: its runs get their type from their infrastructure,
    so that agents that claim by type take them."""
    from alembic import command
    from alembic.config import Config

    from shipway.store._url import database_url

    if empty_store_url.startswith("sqlite"):
        Path(empty_store_url.partition(":///")[2]).parent.mkdir(parents=True)
    engine = sa.create_engine(database_url(empty_store_url))
    try:
        with engine.begin() as connection:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS_DIR))
            config.attributes["connection"] = connection
            command.upgrade(config, "0001_initial")
            connection.execute(
                sa.text(
                    "INSERT INTO flow_runs (id, deployment_id, deployment_name, flow_name, "
                    "entrypoint, parameters, overrides, infrastructure, work_queue, state, "
                    "state_message, scheduled_time, created, updated, attempt, retries, "
                    "retry_delay_seconds, log_count) VALUES ('old-run-1', 'd', 'old', 'f', "
                    "'f.py:f', '{}', '{}', '{\"type\": \"docker-container\"}', 'default', "
                    "'Scheduled', '', :at, :at, :at, 1, 0, 0, 0)"
                ),
                {"at": datetime(2026, 1, 1)},
            )
    finally:
        engine.dispose()
    with open_store(empty_store_url) as store:
        agent = store.register_agent("new", [], None, ["docker-container"])
        claimed = store.claim_runs(agent.id, [], 5, infrastructure_types=["docker-container"])
        assert [run.id for run in claimed] == ["old-run-1"]
    assert _revision(empty_store_url) == HEAD_REVISION
