"""A database that cannot be reached is StoreUnavailable (retryable); one that refuses the
URL is a mistake, not an outage. (A database that goes away and comes back:
tests/reliability/test_database_outage.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from _postgres import PostgresServer
from shipway.store import StoreUnavailable, open_store


def test_unreachable_server_masks_the_password() -> None:
    with pytest.raises(StoreUnavailable) as caught:
        open_store("postgresql://shipway:hunter2@127.0.0.1:1/shipway")
    assert "hunter2" not in str(caught.value)
    assert "shipway:***@127.0.0.1:1" in str(caught.value)


def test_a_wrong_database_or_user_is_a_mistake_not_an_outage(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """Retrying would never help: one message (exit 2), even for an agent that would
    otherwise wait for the database to come back."""
    from shipway.store import StoreRefused

    url = postgres_server.create_database()
    missing_database = url.rsplit("/", 1)[0] + "/no_such_database"
    with pytest.raises(StoreRefused, match='database "no_such_database" does not exist') as caught:
        open_store(missing_database)
    assert not isinstance(caught.value, StoreUnavailable)
    assert "createdb" in (caught.value.hint or "")
    if postgres_server.can_restart:  # our own server: any role name can be tried
        unknown_role = url.replace("postgres@", "no_such_role@", 1)
        with pytest.raises(StoreRefused, match='role "no_such_role" does not exist'):
            open_store(unknown_role)

    agent = subprocess.run(
        [sys.executable, "-c", "from shipway.cli import main; main()", "agent", "start"],
        env={**os.environ, "SHIPWAY_DATABASE_URL": missing_database,
             "SHIPWAY_HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert agent.returncode == 2, agent.stderr
    assert agent.stderr.startswith("Error: the store at ")
    assert "Traceback" not in agent.stderr and "retrying" not in agent.stderr
