"""Fault injection: agents killed, frozen or cut off from the store, databases that go
away, writes refused half-way, a read-only home. Each scenario runs on SQLite and on
PostgreSQL, with the same fixtures as tests/orchestration (tests/_store_fixtures.py and
tests/_agent_fixtures.py)."""

from __future__ import annotations

from _agent_fixtures import agents, project  # noqa: F401  # fixtures are found by their names
from _store_fixtures import (  # noqa: F401
    backend,
    postgres_server,
    postgres_session,
    secret_key,
    session_secret_key,
    shipway_home,
    store,
    store_url,
)
