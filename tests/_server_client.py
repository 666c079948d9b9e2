"""A synchronous httpx client for the server's app, in process: the app's lifespan (the
store opened once) runs in a portal thread, requests go through ``httpx.ASGITransport``.

Responses are read whole; the live log stream is tested against a real uvicorn server
(tests/server/test_logs_stream.py)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any

import anyio.from_thread
import httpx
from starlette.applications import Starlette

BASE_URL = "http://127.0.0.1:4300"


class ApiClient:
    """``client.get("/api/health")`` and the like, answered by the app."""

    def __init__(self, portal: anyio.from_thread.BlockingPortal, app: Starlette) -> None:
        self._portal = portal
        self.app = app
        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=BASE_URL)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._portal.call(lambda: self._client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)


@contextlib.contextmanager
def api_client(app: Starlette) -> Iterator[ApiClient]:
    """A client for ``app``, started (store open) until the block ends."""
    with anyio.from_thread.start_blocking_portal() as portal:
        lifespan = app.router.lifespan_context(app)
        portal.call(lifespan.__aenter__)
        client = ApiClient(portal, app)
        try:
            yield client
        finally:
            portal.call(client._client.aclose)
            portal.call(lifespan.__aexit__, None, None, None)


@contextlib.contextmanager
def live_server(app: Starlette) -> Iterator[str]:
    """``app`` served by uvicorn on a free port of 127.0.0.1, in a thread; yields its
    base URL, and stops it (ending its live streams) when the block ends."""
    import threading
    import time

    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the server stopped while starting"
        assert time.monotonic() < deadline, "the server did not start in 30 s"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        app.state.shipway.stopping.set()
        server.should_exit = True
        thread.join(30)


@dataclasses.dataclass
class Event:
    """One server-sent event."""

    event: str
    data: str
    id: str | None = None


def read_events(lines: Iterable[str]) -> Iterator[Event]:
    """The events of a ``text/event-stream`` body, given its lines (comments skipped)."""
    fields: dict[str, str] = {}
    for line in lines:
        if not line:
            if "data" in fields:
                yield Event(fields.get("event", "message"), fields["data"], fields.get("id"))
            fields = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        fields[name] = value.removeprefix(" ")
