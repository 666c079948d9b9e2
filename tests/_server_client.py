"""A synchronous httpx client for the server's app, in process: the app's lifespan (the
store opened once) runs in a portal thread, requests go through ``httpx.ASGITransport``.

Responses are read whole; the live log stream is tested against a real uvicorn server
(tests/server/test_logs_stream.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
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
