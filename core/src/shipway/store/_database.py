"""The connection to the store's database: opening it, short transactions, and the few
statements that differ between SQLite and PostgreSQL. Every part of the store goes
through one :class:`Database`."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from shipway.store._engine import WRITE, create_engine
from shipway.store._errors import StoreError, StoreFailed, StoreRefused, StoreUnavailable
from shipway.store._migrate import migrate, sqlite_file
from shipway.store._url import DATABASE_URL_VAR, HOME_VAR, mask_url

__all__ = ["Database", "utc_now"]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Database:
    """An SQLite or PostgreSQL database, created and migrated the first time it is opened."""

    def __init__(self, url: str) -> None:
        try:
            parsed = sa.make_url(url)
        except sa.exc.ArgumentError:
            raise StoreError(
                f"{mask_url(url)!r} is not a database URL",
                hint="Use e.g. postgresql://user:password@host/db or sqlite:////path/shipway.db "
                "(in SHIPWAY_DATABASE_URL).",
            ) from None
        backend = parsed.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise StoreError(
                f"unsupported database {backend!r} in {mask_url(url)}",
                hint="shipway stores runs in SQLite (the default) or PostgreSQL.",
            )
        self.url = mask_url(url)
        self.backend: str = backend
        try:
            sqlite_path = sqlite_file(parsed) if backend == "sqlite" else None
        except OSError as exc:
            raise StoreError(
                f"cannot create the folder {exc.filename or ''} of the store {self.url}: "
                f"{exc.strerror or exc}",
                hint=f"Point {HOME_VAR} at a writable folder, or {DATABASE_URL_VAR} at "
                "another database.",
            ) from None
        try:
            self._engine = create_engine(url, sqlite_path)
        except ModuleNotFoundError as exc:
            raise StoreError(
                f"the PostgreSQL driver is not installed ({exc.name})",
                hint="Install it with: pip install 'shipway[postgres]'",
            ) from None
        with self._database_errors():
            migrate(self._engine, sqlite_path)

    def close(self) -> None:
        self._engine.dispose()

    @contextlib.contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[sa.Connection]:
        """One short transaction; an unreachable database raises StoreUnavailable."""
        with self._database_errors(), self._engine.connect() as connection:
            if write:
                connection.execution_options(**{WRITE: True})
            with connection.begin():
                yield connection

    def for_update(self, query: sa.Select[Any], *, skip_locked: bool = False) -> sa.Select[Any]:
        """Row locks on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers."""
        if self.backend == "postgresql":
            return query.with_for_update(skip_locked=skip_locked)
        return query

    def insert(self, table: sa.Table) -> Any:
        """The dialect's INSERT, which has ``on_conflict_do_nothing``/``_do_update``."""
        if self.backend == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table)
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)

    @contextlib.contextmanager
    def _database_errors(self) -> Iterator[None]:
        """Turn what the database raises into store errors that say what to do, with
        neither a statement's values (secrets) nor a driver's traceback."""
        try:
            yield
        except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError) as exc:
            if _refused_for_good(exc):  # waiting will not help: say what to fix
                raise StoreRefused(
                    f"the store at {self.url} refused the connection: {_first_line(exc)}",
                    hint=f"Check the user, password and database name in {DATABASE_URL_VAR}; "
                    "the database must exist (createdb), its tables are created on first use.",
                ) from exc
            raise StoreUnavailable(
                f"the store at {self.url} cannot be reached: {_first_line(exc)}",
                hint="Check that the database is running and reachable, then try again.",
            ) from exc
        except sa.exc.DBAPIError as exc:
            if exc.connection_invalidated:
                raise StoreUnavailable(
                    f"the connection to the store at {self.url} was lost: {_first_line(exc)}"
                ) from exc
            raise StoreFailed(
                f"the store at {self.url} failed on {_statement_summary(exc.statement)}: "
                f"{_first_line(exc)}",
                hint="This is a bug in shipway, or the database refused the change itself "
                "(a trigger, a permission); run again with --debug for the traceback.",
            ) from exc


# Answers of a PostgreSQL server that mean the URL is wrong, not that the server is busy
# or down (libpq gives no SQLSTATE for a refused connection, only the server's text).
_REFUSED_FOR_GOOD = (
    "password authentication failed",
    "no pg_hba.conf entry",
    "does not exist",  # the database, or the role
)


def _refused_for_good(exc: BaseException) -> bool:
    text = str(getattr(exc, "orig", None) or exc)
    return "FATAL" in text and any(phrase in text for phrase in _REFUSED_FOR_GOOD)


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    return (str(original).strip().splitlines() or [type(original).__name__])[0]


_STATEMENT = re.compile(
    r"^\s*(INSERT INTO|UPDATE|DELETE FROM|SELECT\b.*?\bFROM)\s+(\w+)", re.S | re.I
)


def _statement_summary(statement: str | None) -> str:
    """``INSERT INTO deployments``: which statement failed, without its values."""
    match = _STATEMENT.match(statement or "")
    if match is None:
        return "a statement"
    verb = "SELECT ... FROM" if match[1].upper().startswith("SELECT") else match[1].upper()
    return f"{verb} {match[2]}"
