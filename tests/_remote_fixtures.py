"""A real ``shipway server start`` per store backend, once per test session, for the
remote agent and CLI tests; each test opens the server's store beside it
(``server_store``) and uses names of its own (deployments, queues), as they share it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from _agent_helpers import Agents
from _postgres import PostgresServer
from _server_process import ServerProcess
from shipway.store import Store, open_store

__all__ = ["remote_server", "server_agents", "server_store"]


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def remote_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    session_secret_key: str,
) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp(f"server-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{directory / 'shipway.db'}"
    else:
        postgres: PostgresServer = request.getfixturevalue("postgres_session")
        url = postgres.create_database(migrated=True)
    server = ServerProcess(url, directory / "home", directory / "server.log", session_secret_key)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server_store(remote_server: ServerProcess, shipway_home: Path) -> Iterator[Store]:
    """The server's own store, opened by the test (to set up and to check)."""
    with open_store(remote_server.store_url) as store:
        yield store


@pytest.fixture
def server_agents(
    remote_server: ServerProcess, shipway_home: Path, tmp_path: Path
) -> Iterator[Agents]:
    """Agents of the server's store: on its database (``start``), or through the server
    (``_server_process.start_remote_agent``); stopped after the test."""
    logs = tmp_path / "agent-logs"
    logs.mkdir()
    started = Agents(remote_server.store_url, shipway_home, logs)
    try:
        yield started
    finally:
        started.stop_all()
