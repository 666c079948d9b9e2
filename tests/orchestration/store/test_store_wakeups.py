"""Wake-ups: what the store's writes send its listeners, on SQLite (Unix sockets) and
PostgreSQL (LISTEN/NOTIFY), and the sockets' housekeeping."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import anyio
import pytest

from _agent_helpers import apply
from shipway.schedules import IntervalSchedule
from shipway.store import Store, Wakeup, open_store
from shipway.store._wakeup_sockets import poke_sockets, socket_directory
from shipway.store._wakeups import Inbox

QUIET_SECONDS = 0.5  # how long "nothing came" is waited for


def wakeups_of(store: Store, action: Callable[[], object]) -> frozenset[Wakeup]:
    """What a listener opened before ``action`` receives after it (empty: nothing)."""

    async def listen() -> frozenset[Wakeup]:
        async with store.listen() as listener:
            assert isinstance(listener, Inbox)
            with anyio.fail_after(10):
                await listener.listening.wait()
            await anyio.to_thread.run_sync(action)
            with anyio.move_on_after(QUIET_SECONDS * 4):
                received = await listener.wait()
                with anyio.move_on_after(QUIET_SECONDS):  # and anything sent with it
                    received |= await listener.wait()
                return received
            return frozenset()

    return anyio.run(listen)


def test_a_run_due_now_wakes_listeners(store: Store, tmp_path: Path) -> None:
    apply(store, "hello", tmp_path)
    assert wakeups_of(store, lambda: store.create_flow_run("hello")) == {Wakeup.RUN_CREATED}


def test_a_run_due_later_does_not(store: Store, tmp_path: Path) -> None:
    apply(store, "hello", tmp_path)
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    assert wakeups_of(store, lambda: store.create_flow_run("hello", scheduled_time=later)) == set()


def test_cancelling_a_claimed_run_wakes_listeners(store: Store, tmp_path: Path) -> None:
    apply(store, "hello", tmp_path)
    run = store.create_flow_run("hello")
    agent = store.register_agent("a", [], None)
    assert [r.id for r in store.claim_runs(agent.id, [], 1)] == [run.id]
    assert wakeups_of(store, lambda: store.request_cancellation(run.id)) == {Wakeup.CANCELLATION}


def test_a_new_or_changed_schedule_wakes_listeners(store: Store, tmp_path: Path) -> None:
    hourly = IntervalSchedule(timedelta(hours=1))
    assert wakeups_of(store, lambda: apply(store, "s", tmp_path, schedule=hourly)) == {
        Wakeup.SCHEDULE
    }
    assert wakeups_of(store, lambda: apply(store, "s", tmp_path, schedule=hourly)) == set()
    daily = IntervalSchedule(timedelta(days=1))
    assert wakeups_of(store, lambda: apply(store, "s", tmp_path, schedule=daily)) == {
        Wakeup.SCHEDULE
    }


def test_a_transaction_rolled_back_sends_nothing(store: Store) -> None:
    database = store._db  # the one place wake-ups are sent from

    def rolled_back() -> None:
        with pytest.raises(RuntimeError), database.transaction() as connection:
            database.notify(connection, Wakeup.RUN_CREATED)
            raise RuntimeError("rolled back")

    assert wakeups_of(store, rolled_back) == set()


def test_unknown_reasons_wake_for_everything() -> None:
    assert Wakeup.parse("run") == {Wakeup.RUN_CREATED}
    assert Wakeup.parse("run,something-newer") == set(Wakeup)


# -- SQLite's sockets ----------------------------------------------------------------


def test_a_socket_left_by_a_dead_agent_is_removed(tmp_path: Path) -> None:
    directory = socket_directory(tmp_path / "shipway.db")
    directory.mkdir()
    stale = directory / "deadbeef0000.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as gone:
        gone.bind(str(stale))  # closed without removing its file, as by SIGKILL
    unrelated = directory / "notes.txt"
    unrelated.write_text("kept")

    poke_sockets(directory, {Wakeup.RUN_CREATED})

    assert not stale.exists()
    assert unrelated.exists()


def test_a_listener_leaves_no_socket_behind(tmp_path: Path, shipway_home: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'shipway.db'}")
    directory = socket_directory(tmp_path / "shipway.db")

    async def listen() -> list[str]:
        async with store.listen():
            return os.listdir(directory)

    assert len(anyio.run(listen)) == 1
    assert os.listdir(directory) == []
    store.close()


def test_a_path_too_long_for_a_socket_uses_a_private_temporary_folder(
    tmp_path: Path, shipway_home: Path
) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    directory = socket_directory(deep / "shipway.db")
    assert not directory.is_relative_to(deep)
    assert directory == socket_directory(deep / "shipway.db")  # every process finds it
    store = open_store(f"sqlite:///{deep / 'shipway.db'}")
    apply(store, "hello", tmp_path)
    try:
        assert wakeups_of(store, lambda: store.create_flow_run("hello")) == {Wakeup.RUN_CREATED}
        assert oct(directory.stat().st_mode & 0o777) == oct(0o700)
    finally:
        store.close()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_postgres_listener_listens_again_after_the_server_restarts(
    store: Store, postgres_server: Any, tmp_path: Path
) -> None:
    if not postgres_server.can_restart:
        pytest.skip("the PostgreSQL server is not one the tests started")
    apply(store, "hello", tmp_path)

    async def scenario() -> tuple[frozenset[Wakeup], frozenset[Wakeup]]:
        async with store.listen() as listener:
            assert isinstance(listener, Inbox)
            with anyio.fail_after(10):
                await listener.listening.wait()
            await anyio.to_thread.run_sync(postgres_server.stop)
            await anyio.to_thread.run_sync(postgres_server.start)
            with anyio.fail_after(60):
                after_restart = await listener.wait()  # it may have missed some
            await anyio.to_thread.run_sync(lambda: store.create_flow_run("hello"))
            with anyio.fail_after(10):
                return after_restart, await listener.wait()

    after_restart, then = anyio.run(scenario)
    assert after_restart == set(Wakeup)
    assert then == {Wakeup.RUN_CREATED}
