"""The guard in front of every route: no token -> 401 on every API route and a redirect
to the login page on every web UI page (taken from the app's route table, so a new route
cannot escape), the read-only token cannot change
anything, browser sessions need the CSRF token, other sites are refused."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

import pytest
from starlette.routing import Mount, Route

from _server_client import ApiClient
from _server_fixtures import READ_ONLY_TOKEN, TOKEN
from _store_helpers import spec
from shipway.server import SESSION_COOKIE, Auth, Principal
from shipway.store import Store

SAFE = {"GET", "HEAD", "OPTIONS"}


def routes(client: ApiClient) -> list[tuple[str, str]]:
    """(method, path with its parameters filled) of every route the app serves."""
    guard = next(m for m in client.app.user_middleware if m.cls.__name__ == "Guard")
    public = set(guard.kwargs.get("public_paths", ()))
    public_prefixes = tuple(guard.kwargs.get("public_prefixes", ()))
    found = []
    for route in client.app.routes:
        if isinstance(route, Mount) and f"{route.path}/".startswith(public_prefixes):
            continue  # the web UI's static files
        assert isinstance(route, Route), f"a new kind of route to check: {route!r}"
        if route.path in public:
            continue
        path = re.sub(r"{\w+}", "hello", route.path)
        found += [(method, path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_every_api_route_needs_the_token(token_client: ApiClient) -> None:
    checked = routes(token_client)
    assert ("GET", "/api/health") in checked and ("PUT", "/api/work-queues/hello") in checked
    for method, path in checked:
        for headers in ({}, bearer("x" * 40), bearer(TOKEN + "x"), {"Authorization": TOKEN}):
            response = token_client.request(method, path, headers=headers)
            if method == "GET" and not path.startswith("/api/"):  # a web UI page
                assert response.status_code == 303, (method, path, headers, response.text)
                assert response.headers["location"].startswith("/login?next=")
                continue
            assert response.status_code == 401, (method, path, headers, response.text)
            assert response.json()["error"]["status"] == 401
            assert response.headers["www-authenticate"].startswith("Bearer")


def test_the_token_opens_every_route(token_client: ApiClient, store: Store) -> None:
    store.apply_deployment(spec("hello"))
    for method, path in routes(token_client):
        if path.endswith("/logs/stream"):
            continue  # a live stream: tests/server/test_logs_stream.py
        response = token_client.request(method, path, headers=bearer(TOKEN), json={"limit": 1})
        assert response.status_code not in (401, 403), (method, path, response.text)


def test_the_read_only_token_reads_and_cannot_change(
    token_client: ApiClient, store: Store
) -> None:
    store.apply_deployment(spec("hello"))
    run = store.create_flow_run("hello")
    unsafe = [(m, p) for m, p in routes(token_client) if m not in SAFE]
    assert unsafe  # runs, cancel, work-queue limits
    for method, path in unsafe:
        path = path.replace("/flow-runs/hello", f"/flow-runs/{run.id}")
        response = token_client.request(method, path, headers=bearer(READ_ONLY_TOKEN), json={})
        assert response.status_code == 403, (method, path, response.text)
    assert store.count_flow_runs() == 1
    assert store.get_flow_run(run.id).state.value == "Scheduled"
    listed = token_client.get("/api/flow-runs", headers=bearer(READ_ONLY_TOKEN))
    assert listed.status_code == 200 and listed.json()["runs"][0]["id"] == run.id


def _auth(client: ApiClient) -> Auth:
    auth = client.app.state.auth
    assert isinstance(auth, Auth)
    return auth


def _session(client: ApiClient, token: str) -> str:
    auth = _auth(client)
    principal = auth.principal_for_token(token)
    assert principal is not None
    return auth.session_value(principal)


def test_a_session_cookie_reads_and_needs_the_csrf_token_to_change(
    token_client: ApiClient, store: Store
) -> None:
    store.apply_deployment(spec("hello"))
    run = store.create_flow_run("hello")
    session = _session(token_client, TOKEN)
    cookies = {"cookie": f"{SESSION_COOKIE}={session}"}
    assert token_client.get("/api/flow-runs", headers=cookies).status_code == 200
    cancel = f"/api/flow-runs/{run.id}/cancel"
    assert token_client.post(cancel, headers=cookies).status_code == 403
    wrong = {**cookies, "x-csrf-token": _auth(token_client).csrf_token_for_session(None)}
    assert token_client.post(cancel, headers=wrong).status_code == 403
    csrf = _auth(token_client).csrf_token_for_session(session)
    assert store.get_flow_run(run.id).state.value == "Scheduled"  # nothing happened yet
    form = token_client.post(
        cancel,
        headers={**cookies, "content-type": "application/x-www-form-urlencoded"},
        content=f"csrf_token={csrf}&x=1",
    )
    assert form.status_code == 200, form.text
    assert store.get_flow_run(run.id).state.value == "Cancelled"
    run = store.create_flow_run("hello")
    header = token_client.post(
        f"/api/flow-runs/{run.id}/cancel", headers={**cookies, "x-csrf-token": csrf}
    )
    assert header.status_code == 200


def test_a_read_only_session_cannot_change_even_with_csrf(
    token_client: ApiClient, store: Store
) -> None:
    store.apply_deployment(spec("hello"))
    session = _session(token_client, READ_ONLY_TOKEN)
    headers = {
        "cookie": f"{SESSION_COOKIE}={session}",
        "x-csrf-token": _auth(token_client).csrf_token_for_session(session),
    }
    assert token_client.get("/api/deployments", headers=headers).status_code == 200
    response = token_client.post("/api/deployments/hello/runs", headers=headers, json={})
    assert response.status_code == 403
    assert store.count_flow_runs() == 0


@pytest.mark.parametrize(
    "session",
    [
        "full.0.0000",  # a forged signature
        "admin.1.abc",  # no such principal
        "garbage",
    ],
)
def test_a_forged_session_is_401(token_client: ApiClient, session: str) -> None:
    response = token_client.get("/api/flow-runs", headers={"cookie": f"{SESSION_COOKIE}={session}"})
    assert response.status_code == 401


def test_an_expired_session_is_401(token_client: ApiClient) -> None:
    auth = _auth(token_client)
    full = Principal("full", can_write=True, via="bearer")
    old = auth.session_value(full, now=time.time() - 13 * 3600)
    response = token_client.get("/api/flow-runs", headers={"cookie": f"{SESSION_COOKIE}={old}"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"sec-fetch-site": "cross-site"},
        {"origin": "null"},
    ],
)
def test_another_site_cannot_change_anything_token_or_not(
    client: ApiClient, token_client: ApiClient, store: Store, headers: dict[str, str]
) -> None:
    store.apply_deployment(spec("hello"))
    for server, auth in ((client, {}), (token_client, bearer(TOKEN))):
        response = server.post("/api/deployments/hello/runs", headers={**auth, **headers}, json={})
        assert response.status_code == 403, response.text
    assert store.count_flow_runs() == 0


def test_same_origin_browser_posts_pass(client: ApiClient, store: Store) -> None:
    store.apply_deployment(spec("hello"))
    headers = {"origin": "http://127.0.0.1:4300", "sec-fetch-site": "same-origin"}
    assert client.post("/api/deployments/hello/runs", headers=headers, json={}).status_code == 201


def test_an_open_server_needs_csrf_for_pages_not_for_scripts(client: ApiClient) -> None:
    # The API answers scripts (curl sends no Origin); a page's form post needs the token.
    assert client.post("/anything", data={"x": "1"}).status_code == 403
    assert client.get("/api/flow-runs").status_code == 200


def test_pages_redirect_to_the_login_page_without_a_token(token_client: ApiClient) -> None:
    response = token_client.get("/flow-runs?state=failed")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/flow-runs%3Fstate%3Dfailed"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("headers", "closed"),
    [
        ([], True),  # no token
        ([(b"authorization", f"Bearer {TOKEN}".encode())], False),
        (
            [(b"authorization", f"Bearer {TOKEN}".encode()), (b"origin", b"https://evil.example")],
            True,
        ),
    ],
)
async def test_websockets_pass_the_guard_too(
    headers: list[tuple[bytes, bytes]], closed: bool
) -> None:
    from shipway.server._guard import Guard

    reached: list[bool] = []

    async def app(scope: object, receive: object, send: object) -> None:
        reached.append(True)

    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    guard = Guard(app, auth=Auth(TOKEN, None), max_body_bytes=10)
    scope = {"type": "websocket", "path": "/ws", "headers": [(b"host", b"x"), *headers]}
    await guard(scope, receive, send)  # type: ignore[arg-type]  # plain dicts as ASGI messages
    assert (sent == [{"type": "websocket.close", "code": 1008}]) is closed
    assert bool(reached) is not closed


def test_a_form_post_over_the_limit_is_413_before_its_csrf_field_is_read(
    token_client: ApiClient,
) -> None:
    session = _session(token_client, TOKEN)

    async def form() -> AsyncIterator[bytes]:  # no Content-Length: the body streams
        for _ in range(20):
            yield b"x=" + b"y" * 100_000 + b"&"

    response = token_client.post(
        "/api/flow-runs/hello/cancel",
        headers={
            "cookie": f"{SESSION_COOKIE}={session}",
            "content-type": "application/x-www-form-urlencoded",
        },
        content=form(),
    )
    assert response.status_code == 413
