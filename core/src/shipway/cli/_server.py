"""``shipway server start``: the REST API (and web UI) over the store, on uvicorn."""

from __future__ import annotations

import contextlib
import importlib.util
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from shipway.cli._console import status
from shipway.cli._options import debug_option
from shipway.cli._store_access import open_database_store
from shipway.errors import ShipwayError

_EXTRA = ("starlette", "uvicorn", "jinja2")


@click.group("server")
@debug_option
def server_group() -> None:
    """Serve the REST API and web UI over the store."""


@server_group.command("start")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=4300, show_default=True, help="Port."
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the token every request must carry (else SHIPWAY_SERVER_TOKEN); "
    "required unless --host is a loopback address.",
)
@click.option(
    "--read-only-token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding a second token that may only read (view runs, not run or cancel).",
)
@debug_option
def start_command(
    host: str, port: int, token_file: Path | None, read_only_token_file: Path | None
) -> None:
    """Serve the API and web UI on HOST:PORT until Ctrl-C.

    Uses the store every command uses (SHIPWAY_DATABASE_URL, else the SQLite file under
    SHIPWAY_HOME), created and migrated if needed. Without a token it serves only on
    loopback; with one, every request needs it (Authorization: Bearer TOKEN)."""
    missing = [name for name in _EXTRA if importlib.util.find_spec(name) is None]
    if missing:
        raise ShipwayError(
            f"the server needs {', '.join(missing)}, which is not installed",
            hint="Install it with: pip install 'shipway[server]'",
        )
    import uvicorn

    from shipway.server import ServerSettings, create_app

    settings = ServerSettings.from_sources(
        host=host, port=port, token_file=token_file, read_only_token_file=read_only_token_file
    )
    with open_database_store() as store:  # one clear message now if the store is unusable
        store_url = store.url
    app = create_app(settings)

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            # End the live log streams at once: shutdown must not wait for browsers.
            context = getattr(app.state, "shipway", None)
            if context is not None:
                context.stopping.set()
            super().handle_exit(sig, frame)

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # uvicorn's own raises the signal again once stopped, which would end this
            # command as an interrupted one (130): a server stopped on request exits 0.
            stop_signals = (signal.SIGINT, signal.SIGTERM)
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in stop_signals}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    access = "token required" if settings.auth_required else "open (loopback, no token)"
    if settings.read_only_token:
        access += ", read-only token accepted"
    shown_host = f"[{host}]" if ":" in host else host
    status(f"shipway server on http://{shown_host}:{port}  store: {store_url}  auth: {access}")
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        log_level="info",
        timeout_graceful_shutdown=5,
    )
    Server(config).run()
    status("shipway server stopped.", dim=True)

