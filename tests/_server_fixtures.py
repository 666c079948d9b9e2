"""The server's app over a fresh store (tests/_store_fixtures.py), reached through httpx:
open (no token), and with a token and a read-only token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from _server_client import ApiClient, api_client
from shipway.server import ServerSettings, create_app

TOKEN = "t" * 40
READ_ONLY_TOKEN = "r" * 40


@pytest.fixture
def client(store_url: str, shipway_home: Path) -> Iterator[ApiClient]:
    """The app of an open server (no token, as on loopback) over a fresh store."""
    with api_client(create_app(ServerSettings(store_url=store_url))) as opened:
        yield opened


@pytest.fixture
def token_client(store_url: str, shipway_home: Path) -> Iterator[ApiClient]:
    """The app of a server with a token and a read-only token."""
    settings = ServerSettings(store_url=store_url, token=TOKEN, read_only_token=READ_ONLY_TOKEN)
    with api_client(create_app(settings)) as opened:
        yield opened
