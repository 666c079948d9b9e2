"""Ways to inject faults into a store from a test."""

from __future__ import annotations

import threading
from typing import Any


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
