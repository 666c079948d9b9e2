"""Bring a database to the current schema on first use, safely when several processes
(agents starting together) do it at once: PostgreSQL takes an advisory lock, SQLite a
file lock next to the database."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from shipway.store._engine import WRITE

__all__ = ["HEAD_REVISION", "migrate"]

HEAD_REVISION = "0006_storage"
_ADVISORY_LOCK_KEY = 0x5348_4950  # "SHIP": one key for every shipway database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_PRIVATE_DIR = 0o700
_PRIVATE_FILE = 0o600


def _current_revision(connection: sa.Connection) -> str | None:
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: SQLite's own locking has to do
        yield
        return
    with open(os.open(path, os.O_RDWR | os.O_CREAT, _PRIVATE_FILE), "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _upgrade(connection: sa.Connection) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def migrate(engine: sa.Engine, sqlite_path: Path | None, *, create: bool = True) -> bool:
    """Upgrade the schema to HEAD_REVISION unless it is there already. ``create=False``:
    a database without any shipway schema is left alone; returns False for it."""
    with engine.connect() as connection:
        revision = _current_revision(connection)
    if revision == HEAD_REVISION:
        return True
    if revision is None and not create:
        return False
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection, connection.begin():
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY}
            )
            if _current_revision(connection) != HEAD_REVISION:
                _upgrade(connection)
        return True
    lock = _file_lock(Path(f"{sqlite_path}.lock")) if sqlite_path else contextlib.nullcontext()
    with lock, engine.connect() as connection:
        connection.execution_options(**{WRITE: True})
        with connection.begin():
            if _current_revision(connection) != HEAD_REVISION:
                _upgrade(connection)
    return True


def sqlite_file(url: sa.URL) -> Path | None:
    """The database file of a SQLite URL (None for in-memory)."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(os.path.expanduser(database))


def create_private(path: Path) -> None:
    """The folder (0700) and the file (0600) of a SQLite store, for this user only: the
    store holds run history and logs. (SQLite gives its journal files the database file's
    permissions; what exists already keeps its own.)"""
    path.parent.mkdir(mode=_PRIVATE_DIR, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE_FILE))
