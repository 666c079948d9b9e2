"""Ways to inject faults into a store from a test: the database away for everyone
(:func:`outage`) or for one agent (:class:`CutOffStore`), a write refused half-way
(:func:`refuse_deployment`)."""

from __future__ import annotations

import functools
import threading
from typing import Any

from shipway.store import Store, StoreUnavailable


def outage(store_url: str, postgres_server: Any, seconds: float) -> None:
    """Make the database unreachable for ``seconds``: stop the PostgreSQL server, or hold
    an exclusive lock on the SQLite file (every reader and writer then waits for it)."""
    if store_url.startswith("postgres"):
        postgres_server.stop()
        threading.Event().wait(seconds)
        postgres_server.start()
        return
    import sqlite3

    path = store_url.partition(":///")[2]
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        threading.Event().wait(seconds)
        connection.execute("COMMIT")
    finally:
        connection.close()


REFUSAL = "refused by the test's trigger"
_QUOTED_REFUSAL = REFUSAL.replace("'", "''")  # as an SQL literal


def refuse_deployment(store_url: str, name: str) -> None:
    """Make the database itself refuse to insert the deployment ``name`` (a trigger), as
    a permission, a constraint or a full disk would in the middle of a write."""
    if store_url.startswith("postgres"):
        import psycopg

        with psycopg.connect(store_url.replace("+psycopg", ""), autocommit=True) as pg:
            pg.execute(
                "CREATE FUNCTION refuse_deployment() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.name = '{name}' THEN RAISE EXCEPTION '{_QUOTED_REFUSAL}'; "
                "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            pg.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON deployments "
                "FOR EACH ROW EXECUTE FUNCTION refuse_deployment()"
            )
        return
    import sqlite3

    connection = sqlite3.connect(store_url.partition(":///")[2], isolation_level=None)
    try:
        connection.execute(
            f"CREATE TRIGGER refuse BEFORE INSERT ON deployments WHEN NEW.name = '{name}' "
            f"BEGIN SELECT RAISE(ABORT, '{_QUOTED_REFUSAL}'); END"
        )
    finally:
        connection.close()


class CutOffStore(Store):
    """A store one agent sees: while ``cut`` is set every call fails as if the database
    could not be reached (the others reach it: a network partition, as seen from one
    machine). Checked when a call is made, so that retries get through once it is clear."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.cut = threading.Event()

    def __getattribute__(self, name: str) -> Any:
        value = super().__getattribute__(name)
        if name.startswith("_") or name == "close" or not callable(value):
            return value
        cut: threading.Event = super().__getattribute__("cut")

        @functools.wraps(value)
        def call(*args: Any, **kwargs: Any) -> Any:
            if cut.is_set():
                raise StoreUnavailable("the test cut this agent off from the store")
            return value(*args, **kwargs)

        return call
