"""Fixtures for every test that needs a store: a fresh store per test on SQLite and on
PostgreSQL (a throwaway server, see _postgres.py), and a private SHIPWAY_HOME.

The conftest.py of each directory that uses them imports them by name (tests/orchestration,
tests/reliability). The PostgreSQL server is one per test session however many
directories import the fixture.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from _postgres import PostgresServer, running_postgres

if TYPE_CHECKING:
    from shipway.store import Store

__all__ = [
    "BACKENDS",
    "backend",
    "empty_store_url",
    "postgres_server",
    "postgres_session",
    "secret_key",
    "session_secret_key",
    "shipway_home",
    "store",
    "store_url",
]

BACKENDS = ["sqlite", "postgresql"]

_session_server: list[PostgresServer] = []  # started once, by whichever directory asks first


@pytest.fixture(scope="session")
def postgres_session(request: pytest.FixtureRequest) -> PostgresServer:
    if not _session_server:
        stack = contextlib.ExitStack()
        _session_server.append(stack.enter_context(running_postgres()))
        request.session.config.add_cleanup(stack.close)
        request.session.config.add_cleanup(_session_server.clear)
    return _session_server[0]


@pytest.fixture
def postgres_server(postgres_session: PostgresServer) -> Iterator[PostgresServer]:
    """The session's server, started again after the test if the test stopped it."""
    yield postgres_session
    if postgres_session.can_restart and not postgres_session.running:
        postgres_session.start()


@pytest.fixture(scope="session")
def session_secret_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def secret_key(session_secret_key: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """One secret key for every store, CLI and agent of a test, as on machines that share
    a store (and never the key file of the real home)."""
    monkeypatch.setenv("SHIPWAY_SECRET_KEY", session_secret_key)
    return session_secret_key


@pytest.fixture
def shipway_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private SHIPWAY_HOME (and no SHIPWAY_DATABASE_URL leaking in from outside)."""
    home = tmp_path / "shipway-home"
    monkeypatch.setenv("SHIPWAY_HOME", str(home))
    monkeypatch.delenv("SHIPWAY_DATABASE_URL", raising=False)
    return home


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _fresh_database(
    backend: str, path: Path, request: pytest.FixtureRequest, *, migrated: bool
) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{path / 'shipway.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database(migrated=migrated)
    yield url
    if server.external_url:  # our own throwaway server goes away whole
        server.drop_database(url)


@pytest.fixture
def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a fresh, migrated store: a new SQLite file or a new PostgreSQL database."""
    yield from _fresh_database(backend, tmp_path / "store", request, migrated=True)


@pytest.fixture
def empty_store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """Like store_url, but nothing migrated yet (the migration tests start from here)."""
    yield from _fresh_database(backend, tmp_path / "empty", request, migrated=False)


@pytest.fixture
def store(store_url: str, shipway_home: Path) -> Iterator[Store]:
    """An open store; SHIPWAY_HOME is private, so the secret key it makes stays there."""
    from shipway.store import open_store

    opened = open_store(store_url)
    yield opened
    opened.close()
