"""The UI's guard, against the live server with a token: every page sends a browser
without a session to the login page, forms need the CSRF token, a read-only session
sees no Run or Cancel button and cannot post, and no page shows a planted secret."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from _ui_project import PLANTED_SECRET
from starlette.routing import Route

from _server_fixtures import READ_ONLY_TOKEN, TOKEN
from shipway.server.ui import PUBLIC_PATHS, ROUTES
from shipway.store import FlowRunRecord, Store

# What the path parameters of the UI's routes stand for, in the session's store.
SAMPLE_PARAMS = {"name": "greet", "id": "{run}"}


@pytest.fixture(scope="module")
def run(ui_store: Store) -> FlowRunRecord:
    """A run nobody works on (far in the future), to show and to post to."""
    later = datetime.now(timezone.utc) + timedelta(days=30)
    return ui_store.create_flow_run("greet", parameters={"name": "x"}, scheduled_time=later)


def _routes(method: str, run: FlowRunRecord) -> list[str]:
    paths = []
    for route in ROUTES:
        if not isinstance(route, Route) or route.path in PUBLIC_PATHS:
            continue
        if method in (route.methods or ()):
            path = route.path
            for name, value in SAMPLE_PARAMS.items():
                path = path.replace("{" + name + "}", value.format(run=run.id))
            paths.append(path)
    return paths


@contextlib.contextmanager
def _session(base: str, token: str) -> Iterator[httpx.Client]:
    """A client signed in through the login form (it keeps the session cookie)."""
    with httpx.Client(base_url=base) as client:
        answer = client.post("/login", data={"token": token, "next": "/"})
        assert answer.status_code == 303, answer.text
        yield client


def _csrf(client: httpx.Client, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', client.get(path).text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


@pytest.fixture
def anonymous(token_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=token_server) as client:
        yield client


def test_every_page_redirects_to_login_without_a_session(
    anonymous: httpx.Client, run: FlowRunRecord
) -> None:
    pages = _routes("GET", run)
    assert "/" in pages and "/flow-runs/{id}" not in pages and len(pages) >= 8
    for path in pages:
        answer = anonymous.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next="), path


def test_every_form_refuses_a_post_without_a_session(
    anonymous: httpx.Client, run: FlowRunRecord, ui_store: Store
) -> None:
    forms = _routes("POST", run)
    assert len(forms) >= 5
    for path in forms:
        assert anonymous.post(path, data={"limit": "1"}).status_code == 401, path
    assert ui_store.get_flow_run(run.id).state.value == "Scheduled"


def test_a_form_without_the_csrf_token_is_refused(
    token_server: str, run: FlowRunRecord, ui_store: Store
) -> None:
    with _session(token_server, TOKEN) as client:
        assert client.post(f"/flow-runs/{run.id}/cancel").status_code == 403
        wrong = client.post(f"/flow-runs/{run.id}/cancel", data={"csrf_token": "0" * 64})
        assert wrong.status_code == 403
        assert "CSRF" in wrong.text
        assert ui_store.get_flow_run(run.id).state.value == "Scheduled"
        before = ui_store.count_flow_runs(deployment="greet")
        token = _csrf(client, "/deployments/greet")
        made = client.post("/deployments/greet/run", data={"csrf_token": token, "name": "ok"})
        assert made.status_code == 303
        assert ui_store.count_flow_runs(deployment="greet") == before + 1
        # Make sure the agent does not keep it waiting: it is not this test's concern.
        ui_store.request_cancellation(made.headers["location"].rsplit("/", 1)[1])


def test_a_read_only_session_sees_no_buttons_and_cannot_post(
    token_server: str, run: FlowRunRecord, ui_store: Store
) -> None:
    with _session(token_server, READ_ONLY_TOKEN) as client:
        deployment = client.get("/deployments/greet").text
        assert "may only read" in deployment and ">Run</button>" not in deployment
        run_page = client.get(f"/flow-runs/{run.id}").text
        assert ">Cancel</button>" not in run_page and ">Run again</button>" not in run_page
        assert "Save</button>" not in client.get("/work-queues").text
        token = _csrf(client, "/")  # the sign-out form carries one
        for path in _routes("POST", run):
            if path == "/logout":
                continue
            answer = client.post(path, data={"csrf_token": token, "name": "x", "limit": "1"})
            assert answer.status_code == 403, path
        assert ui_store.get_flow_run(run.id).state.value == "Scheduled"


def test_no_page_shows_a_planted_secret(token_server: str, run: FlowRunRecord) -> None:
    with _session(token_server, TOKEN) as client:
        for path in _routes("GET", run):
            body = client.get(path).text
            assert PLANTED_SECRET not in body, path


def test_login_sends_only_to_this_server(token_server: str) -> None:
    with httpx.Client(base_url=token_server) as client:
        for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
            answer = client.post("/login", data={"token": TOKEN, "next": target})
            assert answer.headers["location"] == "/", target
