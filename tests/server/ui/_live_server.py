"""The server's app on a real uvicorn, in a thread, on a free 127.0.0.1 port: what a
browser talks to (the in-process httpx client cannot serve one)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn

from shipway.server import ServerSettings, create_app

__all__ = ["live_server"]


@contextlib.contextmanager
def live_server(settings: ServerSettings) -> Iterator[str]:
    """Serve ``create_app(settings)`` until the block ends; yields its base URL."""
    app = create_app(settings)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_level="warning", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        context = getattr(app.state, "shipway", None)
        if context is not None:
            context.stopping.set()  # end the live log streams at once
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
