"""The guard every request passes before any route: body size, who is asking, what they
may do, and where a state-changing request came from.

Default deny: every path needs a principal except those in ``public_paths`` (the UI's
login page, its static files). So a route added later cannot be left open by mistake.

For a state-changing request (not GET, HEAD or OPTIONS):

- another site's browser (``Sec-Fetch-Site: cross-site|same-site``, or an ``Origin``
  that is not this server) is refused, token or not;
- the read-only principal is refused (403);
- a browser that authenticates with its session cookie must send the CSRF token
  (``X-CSRF-Token`` header, or the ``csrf_token`` field of a urlencoded form);
- so must an open server's (no token) UI form; its API answers scripts such as curl,
  which send no ``Origin``.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from urllib.parse import parse_qs, quote

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shipway.server._auth import CSRF_FIELD, CSRF_HEADER, Auth, remember_principal

__all__ = ["Guard"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
API_PREFIX = "/api/"


class Guard:
    """ASGI middleware applying the rules of this module's docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        auth: Auth,
        max_body_bytes: int,
        public_paths: Collection[str] = (),
        public_prefixes: Collection[str] = (),
        login_path: str = "/login",
    ) -> None:
        self.app = app
        self.auth = auth
        self.max_body_bytes = max_body_bytes
        self.public_paths = frozenset(public_paths)
        self.public_prefixes = tuple(public_prefixes)
        self.login_path = login_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":  # lifespan
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        path: str = scope["path"]
        method: str = scope["method"]
        is_api = path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/")
        length = connection.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body_bytes:
            await _json_error(send, 413, self._too_large())
            return
        receive = self._limited(receive)
        unsafe = method not in SAFE_METHODS
        if unsafe and _cross_site(connection):
            await _json_error(send, 403, "refused: this request came from another site")
            return
        principal = self.auth.authenticate(connection)
        if path in self.public_paths or path.startswith(self.public_prefixes):
            if principal is not None:  # a login page may say who is logged in already
                remember_principal(scope, principal)
            await self.app(scope, receive, send)
            return
        if principal is None:
            if is_api or unsafe:
                await _json_error(
                    send, 401, "this server needs a token: Authorization: Bearer <token>",
                    headers=[(b"www-authenticate", b'Bearer realm="shipway"')],
                )  # fmt: skip
            else:
                await _redirect(send, f"{self.login_path}?next={quote(_target(scope))}")
            return
        if unsafe and not principal.can_write:
            await _json_error(send, 403, "this token may only read: it cannot run or change")
            return
        if unsafe and (principal.via == "session" or (principal.via == "open" and not is_api)):
            submitted = connection.headers.get(CSRF_HEADER)
            if submitted is None:
                try:
                    submitted, receive = await _form_field(scope, receive, CSRF_FIELD)
                except BodyTooLarge as exc:  # read here, before the app's handlers
                    await _json_error(send, 413, str(exc))
                    return
            if not self.auth.check_csrf(connection, submitted):
                await _json_error(send, 403, "missing or wrong CSRF token: reload the page")
                return
        remember_principal(scope, principal)
        await self.app(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A WebSocket needs a principal too, and may not come from another site (a
        browser sends its cookies with a cross-site WebSocket: only Origin tells)."""
        connection = HTTPConnection(scope)
        principal = None if _cross_site(connection) else self.auth.authenticate(connection)
        public = scope["path"] in self.public_paths
        if principal is None and not public:
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})  # policy violation
            return
        if principal is not None:
            remember_principal(scope, principal)
        await self.app(scope, receive, send)

    def _too_large(self) -> str:
        return f"the request body is larger than {self.max_body_bytes} bytes"

    def _limited(self, receive: Receive) -> Receive:
        """``receive`` that stops a body without a length once it passes the limit."""
        seen = 0
        limit = self.max_body_bytes

        async def receive_limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(self._too_large())
            return message

        return receive_limited


class BodyTooLarge(Exception):
    """A body without Content-Length grew past the limit (the app answers 413)."""


def _cross_site(connection: HTTPConnection) -> bool:
    site = connection.headers.get("sec-fetch-site")
    if site in ("cross-site", "same-site"):
        return True
    origin = connection.headers.get("origin")
    if origin is None:  # not a browser (curl, scripts), or a same-origin GET
        return False
    if origin == "null":  # a sandboxed frame or a file: page
        return True
    host = connection.headers.get("host", "")
    return origin.split("://", 1)[-1] != host


def _target(scope: Scope) -> str:
    path: str = scope["path"]
    query = scope.get("query_string", b"").decode("latin-1")
    return path + (f"?{query}" if query else "")


async def _form_field(scope: Scope, receive: Receive, name: str) -> tuple[str | None, Receive]:
    """A urlencoded form's field, and a ``receive`` that replays the body to the app."""
    if not Headers(scope=scope).get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        return None, receive
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    body = b"".join(chunks)
    values = parse_qs(body.decode("latin-1")).get(name)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return (str(values[0]) if values else None), replay


async def _json_error(
    send: Send, status: int, message: str, *, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps({"error": {"status": status, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _redirect(send: Send, location: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [(b"location", location.encode()), (b"content-length", b"0")],
        }
    )
    await send({"type": "http.response.body", "body": b""})
