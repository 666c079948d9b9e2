"""Create the SQLAlchemy engine for a store URL, with the settings each backend needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

__all__ = ["WRITE", "create_engine"]

# Execution option that makes a SQLite transaction start with BEGIN IMMEDIATE: it takes
# the write lock up front, so two writers queue on busy_timeout instead of failing when
# both try to upgrade a read lock.
WRITE = "shipway_write"
SQLITE_BUSY_TIMEOUT_SECONDS = 30
POSTGRES_CONNECT_TIMEOUT_SECONDS = 5


def create_engine(url: str, sqlite_path: Path | None) -> sa.Engine:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, in_memory=sqlite_path is None)
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_SECONDS
    # An agent calls the store from many worker threads: a roomy pool, and pre-ping so
    # that connections cut by a database restart are replaced instead of failing once.
    return sa.create_engine(
        parsed,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        connect_args=connect_args,
        hide_parameters=True,  # a statement's values may be secrets: never in an error
    )


def _sqlite_engine(url: sa.URL, *, in_memory: bool) -> sa.Engine:
    kwargs: dict[str, Any] = {
        "connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        "hide_parameters": True,  # a statement's values may be secrets: never in an error
    }
    if in_memory:  # one shared connection, or every connection sees its own empty database
        kwargs["poolclass"] = sa.pool.StaticPool
    engine = sa.create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _begin)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
