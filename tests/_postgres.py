"""A throwaway PostgreSQL server for the orchestration tests.

Debian's PostgreSQL (``/usr/lib/postgresql/<version>/bin``) is started on a free port of
127.0.0.1 with trust authentication, its data and unix socket in a temporary directory;
as root, it runs as the ``postgres`` user (initdb refuses root). ``stop()``/``start()``
keep the data directory, so a test can take the database away and bring it back.

``SHIPWAY_TEST_POSTGRES_URL`` (a URL of a database on a server you run, with the right to
CREATE DATABASE) is used instead when set; such a server cannot be stopped by the tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import _ci

EXTERNAL_URL_VAR = "SHIPWAY_TEST_POSTGRES_URL"
TEMPLATE = "shipway_template"


def unavailable(reason: str) -> NoReturn:
    """Skip locally; fail in CI, where the PostgreSQL tests must never be skipped."""
    _ci.unavailable(reason, tests="PostgreSQL")


def find_bindir() -> Path | None:
    """The newest installed server's bin directory (the one holding initdb and pg_ctl)."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    for bindir in reversed(candidates):
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """One server: ``url(database)`` for SQLAlchemy/shipway, ``create_database()`` for a
    fresh database per test (a copy of the migrated template)."""

    def __init__(self, bindir: Path | None, base: Path | None, external_url: str | None = None):
        self.bindir = bindir
        self.base = base
        self.external_url = external_url
        self.port = _free_port()
        self.running = False

    # -- lifecycle (own server only) --------------------------------------------------

    @property
    def can_restart(self) -> bool:
        return self.external_url is None

    @property
    def data_dir(self) -> Path:
        assert self.base is not None
        return self.base / "data"

    def _as_server_user(self, *args: str) -> list[str]:
        assert self.bindir is not None
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *command]
        return command

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            self._as_server_user(*args), capture_output=True, text=True, timeout=120
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}{self.server_log()}"
            )

    def server_log(self) -> str:
        log = self.base / "server.log" if self.base else None
        if log and log.exists():
            return "\n--- server log ---\n" + log.read_text(errors="replace")[-4000:]
        return ""

    def init(self) -> None:
        assert self.base is not None
        if os.geteuid() == 0:
            shutil.chown(self.base, user="postgres", group="postgres")
        self._run(
            "initdb", "-D", str(self.data_dir), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        """Start the server (again, on the same port and data) and wait until it accepts."""
        if not self.can_restart:
            raise RuntimeError(f"the server at {EXTERNAL_URL_VAR} is not started by the tests")
        assert self.base is not None
        options = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off "
            "-c max_connections=300 -c shared_buffers=32MB"
        )
        self._run(
            "pg_ctl", "-D", str(self.data_dir), "-l", str(self.base / "server.log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip
        self.running = True

    def stop(self) -> None:
        """Stop the server (clients are disconnected at once), keeping its data."""
        if not self.can_restart:
            raise RuntimeError(f"the server at {EXTERNAL_URL_VAR} is not stopped by the tests")
        if self.running:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
            self.running = False

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        if self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)

    # -- databases --------------------------------------------------------------------

    def url(self, database: str = "postgres") -> str:
        """A ``postgresql://`` URL of ``database`` on this server."""
        if self.external_url:
            import sqlalchemy as sa

            parsed = sa.make_url(self.external_url).set(database=database)
            return parsed.render_as_string(hide_password=False)
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def admin_database(self) -> str:
        if self.external_url:
            import sqlalchemy as sa

            return sa.make_url(self.external_url).database or "postgres"
        return "postgres"

    def execute(self, *statements: str) -> None:
        """Run statements outside a transaction (CREATE/DROP DATABASE need that)."""
        import psycopg

        conninfo = self.url(self.admin_database()).replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as connection:
            for statement in statements:
                connection.execute(statement)  # type: ignore[arg-type]  # our own literals

    def prepare_template(self) -> None:
        """A migrated database every test database is copied from (migrating once)."""
        from shipway.store import open_store

        self.execute(f"DROP DATABASE IF EXISTS {TEMPLATE}", f"CREATE DATABASE {TEMPLATE}")
        open_store(self.url(TEMPLATE)).close()

    def create_database(self, *, migrated: bool = True) -> str:
        """A new database's URL: a copy of the migrated template, or empty."""
        name = f"shipway_{uuid.uuid4().hex[:12]}"
        template = TEMPLATE if migrated else "template0"
        self.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        import sqlalchemy as sa

        name = sa.make_url(url).database
        with contextlib.suppress(Exception):
            self.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """A started server for the session (skipped locally, failed in CI, when missing)."""
    external = os.environ.get(EXTERNAL_URL_VAR)
    if external:
        server = PostgresServer(None, None, external_url=external)
        server.running = True
        server.prepare_template()
        yield server
        return
    bindir = find_bindir()
    if bindir is None:
        unavailable(
            "PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin); "
            f"install Debian's postgresql package or set {EXTERNAL_URL_VAR}"
        )
    try:
        import psycopg  # noqa: F401  # the tests and the store need the driver
    except ImportError:
        unavailable("psycopg is not installed: pip install 'shipway[postgres]'")
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            unavailable("running as root and there is no 'postgres' user to run PostgreSQL as")
    server = PostgresServer(bindir, Path(tempfile.mkdtemp(prefix="shipway-pg-")))
    try:
        server.init()
        server.start()
        server.prepare_template()
        yield server
    finally:
        server.destroy()
