"""The server answers /api/health through its app, with the store open."""

from __future__ import annotations

from _server_client import ApiClient
from shipway._version import __version__


def test_health(client: ApiClient, backend: str) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__, "store": backend}
