"""Fixtures of the server tests: a store on SQLite and PostgreSQL, and the server's app
over it (_server_fixtures.py)."""

from __future__ import annotations

import pytest

pytest.importorskip("starlette", reason="the server needs shipway[server]")

from _agent_fixtures import agents, project  # noqa: F401  # fixtures, by name
from _planted_secrets import leaky_project  # noqa: F401  # a fixture, by name
from _remote_fixtures import remote_server, server_agents, server_store  # noqa: F401
from _server_fixtures import client, token_client  # noqa: F401  # fixtures, by name
from _store_fixtures import (  # noqa: F401  # fixtures are found by their names here
    backend,
    postgres_server,
    postgres_session,
    secret_key,
    session_secret_key,
    shipway_home,
    store,
    store_url,
)
