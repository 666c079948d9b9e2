"""The store fixtures (tests/_store_fixtures.py): a fresh store per test on SQLite and on
PostgreSQL, and a private SHIPWAY_HOME."""

from __future__ import annotations

from _store_fixtures import (  # noqa: F401  # fixtures are found by their names here
    backend,
    empty_store_url,
    postgres_server,
    postgres_session,
    secret_key,
    session_secret_key,
    shipway_home,
    store,
    store_url,
)
