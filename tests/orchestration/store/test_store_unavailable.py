"""A database that cannot be reached is StoreUnavailable (retryable), and the same Store
works again once the database is back."""

from __future__ import annotations

import pytest
from _postgres import PostgresServer
from _store_helpers import spec

from shipway.store import StoreUnavailable, open_store


def test_postgres_stopped_and_back(postgres_server: PostgresServer) -> None:
    if not postgres_server.can_restart:
        pytest.skip("the server comes from SHIPWAY_TEST_POSTGRES_URL and cannot be stopped")
    url = postgres_server.create_database()
    store = open_store(url)
    try:
        store.apply_deployment(spec())
        postgres_server.stop()
        with pytest.raises(StoreUnavailable, match=r"cannot be reached|lost") as caught:
            store.create_flow_run("hello")
        assert caught.value.exit_code == 3
        with pytest.raises(StoreUnavailable):
            open_store(url)
        postgres_server.start()
        run = store.create_flow_run("hello")
        assert store.get_flow_run(run.id).id == run.id
    finally:
        store.close()


def test_unreachable_server_masks_the_password() -> None:
    with pytest.raises(StoreUnavailable) as caught:
        open_store("postgresql://shipway:hunter2@127.0.0.1:1/shipway")
    assert "hunter2" not in str(caught.value)
    assert "shipway:***@127.0.0.1:1" in str(caught.value)
