"""Routes a part of the server adds (the web UI does this): they sit behind the same
guard, reach the store through the server's context, and can log a browser in with the
auth primitives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from _server_client import ApiClient, api_client
from _server_fixtures import TOKEN
from _store_helpers import spec
from shipway.server import (
    SESSION_COOKIE,
    ServerSettings,
    create_app,
    request_principal,
    server_context,
)
from shipway.store import Store


async def whoami(request: Request) -> Response:
    principal = request_principal(request)
    context = server_context(request)
    deployments = await context.call(context.store.list_deployments)
    return JSONResponse(
        {
            "principal": principal.name if principal else None,
            "via": principal.via if principal else None,
            "deployments": [d.name for d in deployments],
            "csrf": context.auth.csrf_token(request),
        }
    )


async def login(request: Request) -> Response:
    auth = server_context(request).auth
    if request.method == "GET":
        principal = request_principal(request)
        return JSONResponse({"logged_in": principal.name if principal else None})
    form = await request.form()
    principal = auth.principal_for_token(str(form.get("token", "")))
    if principal is None:
        return JSONResponse({"error": "wrong token"}, status_code=401)
    response = RedirectResponse(str(form.get("next") or "/"), status_code=303)
    auth.set_session_cookie(response, principal, request)
    return response


@pytest.fixture
def extended(store_url: str, shipway_home: Path) -> Iterator[ApiClient]:
    app = create_app(
        ServerSettings(store_url=store_url, token=TOKEN),
        routes=[Route("/whoami", whoami), Route("/login", login, methods=["GET", "POST"])],
        public_paths={"/login"},
    )
    with api_client(app) as client:
        yield client


def test_an_added_page_is_guarded_and_reaches_the_store(extended: ApiClient, store: Store) -> None:
    store.apply_deployment(spec("hello"))
    assert extended.get("/whoami").headers["location"] == "/login?next=/whoami"
    seen = extended.get("/whoami", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert seen["principal"] == "full" and seen["via"] == "bearer"
    assert seen["deployments"] == ["hello"]


def test_a_login_page_sets_a_strict_http_only_session(extended: ApiClient) -> None:
    assert extended.get("/login").json() == {"logged_in": None}  # public: no token needed
    wrong = extended.post("/login", data={"token": "nope"})
    assert wrong.status_code == 401
    response = extended.post("/login", data={"token": TOKEN, "next": "/whoami"})
    assert response.status_code == 303 and response.headers["location"] == "/whoami"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and TOKEN not in cookie
    session = cookie.split(";", 1)[0]
    seen = extended.get("/whoami", headers={"cookie": session}).json()
    assert seen["principal"] == "full" and seen["via"] == "session"
    assert extended.get("/login", headers={"cookie": session}).json() == {"logged_in": "full"}
