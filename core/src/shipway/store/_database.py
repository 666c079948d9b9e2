"""The connection to the store's database: opening it, short transactions, and the few
statements that differ between SQLite and PostgreSQL. Every part of the store goes
through one :class:`Database`."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shipway.store._engine import WRITE, create_engine
from shipway.store._errors import (
    StoreError,
    StoreFailed,
    StoreNotFound,
    StoreNotWritable,
    StoreRefused,
    StoreUnavailable,
)
from shipway.store._migrate import create_private, migrate, sqlite_file
from shipway.store._url import DATABASE_URL_VAR, HOME_VAR, mask_url
from shipway.store._wakeup_postgres import notify_statement, postgres_listener
from shipway.store._wakeup_sockets import poke_sockets, socket_directory, socket_listener
from shipway.store._wakeups import Inbox, Wakeup, WakeupListener

__all__ = ["Database", "utc_now"]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


# Where a SQLite transaction keeps the wake-ups to send once it has committed.
_WAKEUPS_AFTER_COMMIT = "shipway_wakeups"


class Database:
    """An SQLite or PostgreSQL database, created and migrated the first time it is opened
    (unless ``create`` is False: then it must hold a store already)."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        parsed = _parse(url)
        backend = parsed.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise StoreError(
                f"unsupported database {backend!r} in {mask_url(url)}",
                hint="shipway stores runs in SQLite (the default) or PostgreSQL.",
            )
        self.url = mask_url(url)
        self.backend: str = backend
        self._sqlite_path = sqlite_path = sqlite_file(parsed) if backend == "sqlite" else None
        if sqlite_path is not None:
            if not create and not sqlite_path.exists():
                raise self._not_found(f"there is no store at {sqlite_path}")
            try:
                create_private(sqlite_path)
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
        try:
            with self._database_errors():
                found = migrate(self._engine, sqlite_path, create=create)
        except OSError as exc:  # the lock file next to a SQLite file
            self._engine.dispose()
            path = Path(exc.filename or str(sqlite_path))
            raise _file_error(path, (exc.strerror or str(exc)).lower()) from None
        except BaseException:
            self._engine.dispose()
            raise
        if not found:
            self._engine.dispose()
            raise self._not_found(f"there is no shipway store in {self.url} yet")

    def _not_found(self, message: str) -> StoreNotFound:
        return StoreNotFound(
            message,
            hint=f"Check {HOME_VAR} and {DATABASE_URL_VAR}; `shipway deployment apply` "
            "creates the store.",
        )

    def close(self) -> None:
        self._engine.dispose()

    @contextlib.contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[sa.Connection]:
        """One short transaction; an unreachable database raises StoreUnavailable."""
        with self._database_errors(), self._engine.connect() as connection:
            if write:
                connection.execution_options(**{WRITE: True})
            try:
                with connection.begin():
                    yield connection
            finally:  # sent only once committed, never for a transaction rolled back
                wakeups = connection.info.pop(_WAKEUPS_AFTER_COMMIT, None)
        if wakeups and self._sqlite_path is not None:
            poke_sockets(socket_directory(self._sqlite_path), wakeups)

    def notify(self, connection: sa.Connection, *wakeups: Wakeup) -> None:
        """Wake the agents listening to this store (see ``listen``) once the transaction
        of ``connection`` commits: NOTIFY on PostgreSQL, sockets for a SQLite file."""
        if self.backend == "postgresql":
            connection.execute(notify_statement(frozenset(wakeups)))
        else:
            connection.info.setdefault(_WAKEUPS_AFTER_COMMIT, set()).update(wakeups)

    def listen(self) -> contextlib.AbstractAsyncContextManager[WakeupListener]:
        """A listener for what ``notify`` sends (an in-memory SQLite store: none comes)."""
        if self.backend == "postgresql":
            return postgres_listener(self._engine.url)
        if self._sqlite_path is not None:
            return socket_listener(socket_directory(self._sqlite_path))
        return _silent()

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
            path = self._sqlite_path
            cause = _sqlite_file_problem(exc, path) if path is not None else None
            if cause is not None:
                assert path is not None
                raise _file_error(path, cause, exc) from exc
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
            if self._sqlite_path is not None and "file is not a database" in str(exc.orig):
                raise _file_error(self._sqlite_path, "it is not a SQLite database", exc) from exc
            if getattr(exc.orig, "sqlstate", None) == _INSUFFICIENT_PRIVILEGE:
                raise StoreNotWritable(
                    f"the store at {self.url} refused {_statement_summary(exc.statement)}: "
                    f"{_first_line(exc)}",
                    hint=f"Grant its user the right to write, or point {DATABASE_URL_VAR} "
                    "at a user who has it.",
                ) from exc
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


@contextlib.asynccontextmanager
async def _silent() -> AsyncIterator[WakeupListener]:
    yield Inbox()


def _parse(url: str) -> sa.URL:
    problem = ""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        problem = ""
    except ValueError:  # a port that is not a number
        problem = ": its port is not a number"
    else:
        if parsed.port is None or 0 < parsed.port < 65536:
            return parsed
        problem = f": its port {parsed.port} is not between 1 and 65535"
    raise StoreError(
        f"{mask_url(url)!r} is not a database URL{problem}",
        hint="Use e.g. postgresql://user:password@host:5432/db or sqlite:////path/shipway.db "
        f"(in {DATABASE_URL_VAR}).",
    )


# What SQLite says when its file, not the database, is the problem: retrying will not
# help (unlike "database is locked"), the user has to act.
_SQLITE_FILE_PROBLEMS = {
    "attempt to write a readonly database": "it is read-only",
    "unable to open database file": "it cannot be created or opened",
    "database or disk is full": "the disk is full",
    "disk I/O error": "the disk failed to read or write it (is it full, or read-only?)",
}


def _sqlite_file_problem(exc: BaseException, path: Path) -> str | None:
    text = _first_line(exc)
    cause = next((c for phrase, c in _SQLITE_FILE_PROBLEMS.items() if phrase in text), None)
    if cause == _SQLITE_FILE_PROBLEMS["unable to open database file"] and _read_only(path):
        return "it is read-only (the file or its folder cannot be written)"
    return cause


def _read_only(path: Path) -> bool:
    """SQLite cannot say why it cannot open a file; a read-only folder (or file) is the
    usual reason, and a store in WAL mode writes next to its file even to read it."""
    return not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK))


def _file_error(path: Path, cause: str, exc: BaseException | None = None) -> StoreNotWritable:
    detail = f" ({_first_line(exc)})" if exc is not None else ""
    return StoreNotWritable(
        f"cannot use the store's file {path}: {cause}{detail}",
        hint=f"Make {path.parent} and the files in it writable by this user, free space on "
        f"its disk, or point {HOME_VAR} (or {DATABASE_URL_VAR}) elsewhere.",
    )


_INSUFFICIENT_PRIVILEGE = "42501"  # PostgreSQL's SQLSTATE for "permission denied"


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
