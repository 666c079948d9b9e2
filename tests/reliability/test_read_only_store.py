"""A store this user cannot write: a SQLite home that is read-only or full, a PostgreSQL
user who may only read. A mistake to fix, not an outage: one message naming the file (or
the statement) and the cause, exit status 2, and an agent that stops instead of waiting
forever (it used to say "the database cannot be reached", exit 3, and retry)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from _agent_helpers import write_project
from _postgres import PostgresServer
from _store_helpers import spec
from shipway.store import StoreNotWritable, open_store

NOBODY = 65534

YAML = "deployments:\n  - name: hello\n    flow: flows/hello.py:hello\n"


def _as_nobody() -> None:
    """preexec_fn: run the command as an unprivileged user."""
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


ReadOnly = tuple[list[str], Callable[[], None] | None]
"""How to run a command so that a folder is read-only for it: a prefix and a preexec_fn."""


def _read_only(home: Path) -> ReadOnly:
    """``home`` made read-only for the commands. An ordinary user loses the permission to
    write; root writes anything, so its commands see a read-only bind mount of ``home``
    (in a mount namespace of their own), or run as nobody."""
    if os.geteuid() != 0:
        for path in [*home.rglob("*"), home]:
            path.chmod(0o555 if path.is_dir() else 0o444)
        return [], None
    if (
        shutil.which("unshare")
        and subprocess.run(
            ["unshare", "--mount", "true"], capture_output=True, check=False
        ).returncode
        == 0
    ):
        remount = 'mount --bind -o ro "$0" "$0" && exec "$@"'
        return ["unshare", "--mount", "sh", "-c", remount, str(home)], None
    probe = [sys.executable, "-c", "import shipway"]
    if subprocess.run(probe, preexec_fn=_as_nobody, capture_output=True).returncode == 0:
        return [], _as_nobody
    pytest.skip("root without mount namespaces, and nobody cannot run this interpreter")


def _shipway(
    *args: str, url: str, cwd: Path, home: Path, read_only: ReadOnly = ([], None)
) -> subprocess.CompletedProcess[str]:
    prefix, preexec = read_only
    return subprocess.run(
        [*prefix, sys.executable, "-c", "from shipway.cli import main; main()", *args],
        cwd=cwd, capture_output=True, text=True, timeout=60, preexec_fn=preexec,
        env={**os.environ, "SHIPWAY_DATABASE_URL": url, "SHIPWAY_HOME": str(home)},
    )  # fmt: skip


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder every user can read (tmp_path is private to root when tests run as root)."""
    path = Path(tempfile.mkdtemp(prefix="shipway-read-only-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for child in [path, *path.rglob("*")]:
            child.chmod(0o755 if child.is_dir() else 0o644)
        shutil.rmtree(path)


def _assert_one_message(result: subprocess.CompletedProcess[str], *texts: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("Error: "), result.stderr
    for text in texts:
        assert text in result.stderr, result.stderr
    assert "cannot be reached" not in result.stderr and "Traceback" not in result.stderr


def test_a_read_only_sqlite_home_names_the_file(shared_dir: Path) -> None:
    project = write_project(shared_dir / "project")
    (project / "shipway.yaml").write_text(YAML)
    home = shared_dir / "home"
    database = home / "shipway.db"
    url = f"sqlite:///{database}"
    with open_store(url) as store:
        store.apply_deployment(spec("hello"))
    read_only = _read_only(home)

    def shipway(*args: str) -> subprocess.CompletedProcess[str]:
        return _shipway(*args, url=url, cwd=project, home=home, read_only=read_only)

    expected = f"cannot use the store's file {database}: it is read-only"
    _assert_one_message(shipway("deployment", "apply"), expected)
    _assert_one_message(shipway("agent", "start", "--run-once"), expected)
    started = shipway("agent", "start", "--poll-interval", "0.2")  # does not wait forever
    _assert_one_message(started, expected)
    assert "retrying" not in started.stderr


def test_a_full_sqlite_disk_names_the_file(tmp_path: Path) -> None:
    """The database cannot grow (SQLite's max_page_count: what a full disk looks like to
    it, without filling one)."""
    database = tmp_path / "shipway.db"
    with open_store(f"sqlite:///{database}") as store:
        engine = store._db._engine  # the store's own connections are the ones to limit
        engine.dispose()
        sa.event.listen(
            engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA max_page_count = 1")
        )
        with pytest.raises(StoreNotWritable, match="the disk is full") as caught:
            for number in range(200):
                store.apply_deployment(spec(f"d{number}", parameters={"blob": "x" * 4000}))
    assert f"cannot use the store's file {database}" in str(caught.value)
    assert caught.value.exit_code == 2


def test_a_postgresql_user_who_may_only_read(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """The PostgreSQL side of a read-only home: the database refuses this user's writes."""
    server = postgres_server
    if not server.can_restart:
        pytest.skip("the server comes from SHIPWAY_TEST_POSTGRES_URL: no roles are created")
    store_url = server.create_database()
    with open_store(store_url) as store:
        store.apply_deployment(spec("hello"))
    role = f"reader_{uuid.uuid4().hex[:8]}"
    database = sa.make_url(store_url).database
    server.execute(f"CREATE ROLE {role} LOGIN", f"GRANT CONNECT ON DATABASE {database} TO {role}")
    import psycopg

    with psycopg.connect(store_url.replace("+psycopg", ""), autocommit=True) as admin:
        admin.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")  # type: ignore[call-overload]  # our literal
    url = store_url.replace("postgres@", f"{role}@", 1)
    project = write_project(tmp_path / "project")
    (project / "shipway.yaml").write_text(YAML)

    def shipway(*args: str) -> subprocess.CompletedProcess[str]:
        return _shipway(*args, url=url, cwd=project, home=tmp_path / "home")

    try:
        _assert_one_message(shipway("deployment", "apply"), "permission denied for table")
        started = shipway("agent", "start", "--poll-interval", "0.2")
        _assert_one_message(started, "refused INSERT INTO agents: permission denied")
        assert "retrying" not in started.stderr
        listed = shipway("deployment", "ls", "--json")  # reading is allowed
        assert listed.returncode == 0 and '"name": "hello"' in listed.stdout, listed.stderr
    finally:
        server.drop_database(store_url)
        server.execute(f"DROP ROLE IF EXISTS {role}")
