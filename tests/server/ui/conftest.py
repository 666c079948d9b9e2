"""The browser tests' world, started once per session: a store (SQLite) with deployments
of real flows, a real agent (process plugin) working its queue, the server on uvicorn
twice over that store (open, and with a token and a read-only token), and Debian's
Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("playwright", reason="the browser tests need playwright (requirements-dev)")

from _live_server import live_server
from _ui_project import GREET, PLANTED_SECRET
from playwright.sync_api import Browser, Page, sync_playwright

from _agent_helpers import AgentProcess, apply, write_project
from _ci import unavailable
from _server_fixtures import READ_ONLY_TOKEN, TOKEN
from shipway.server import ServerSettings
from shipway.store import Store, open_store

CHROMIUM = os.environ.get("SHIPWAY_TEST_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory, session_secret_key: str) -> Iterator[Path]:
    """SHIPWAY_HOME and the secret key for the whole session (the servers and the agent
    share them); yields the project directory."""
    root = tmp_path_factory.mktemp("ui")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SHIPWAY_HOME", str(root / "home"))
        patch.setenv("SHIPWAY_SECRET_KEY", session_secret_key)
        patch.delenv("SHIPWAY_DATABASE_URL", raising=False)
        project = write_project(root / "project")
        (project / "flows" / "greet.py").write_text(GREET.lstrip())
        yield project


@pytest.fixture(scope="session")
def ui_store_url(world: Path) -> str:
    return f"sqlite:///{world.parent / 'shipway.db'}"


@pytest.fixture(scope="session")
def ui_store(ui_store_url: str, world: Path) -> Iterator[Store]:
    store = open_store(ui_store_url)
    secret_env = {"API_TOKEN": PLANTED_SECRET}
    apply(store, "greet", world, infrastructure={"type": "process", "env": secret_env})
    apply(store, "sleeper", world)
    yield store
    store.close()


@pytest.fixture(scope="session")
def agent(ui_store: Store, ui_store_url: str, world: Path) -> Iterator[AgentProcess]:
    """One real agent for the session, claiming the runs the pages create."""
    env = {**os.environ, "SHIPWAY_DATABASE_URL": ui_store_url}
    started = AgentProcess(env, ["--poll-interval", "0.2"], world.parent / "agent.log")
    yield started
    started.stop()


@pytest.fixture(scope="session")
def open_server(ui_store: Store, ui_store_url: str) -> Iterator[str]:
    """The base URL of a server without a token (the loopback default)."""
    with live_server(ServerSettings(port=0, store_url=ui_store_url)) as url:
        yield url


@pytest.fixture(scope="session")
def token_server(ui_store: Store, ui_store_url: str) -> Iterator[str]:
    """The base URL of a server with a token and a read-only token."""
    settings = ServerSettings(
        port=0, store_url=ui_store_url, token=TOKEN, read_only_token=READ_ONLY_TOKEN
    )
    with live_server(settings) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one module: Playwright's sync API keeps an event loop running in this
    thread while it is open, which other tests' asyncio.run() must not meet."""
    if shutil.which(CHROMIUM) is None:
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)", tests="browser")
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) per test."""
    context = browser.new_context()
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()
