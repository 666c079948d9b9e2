"""Who is asking: tokens, the UI's session cookie and its CSRF token.

The primitives, for the API and the UI alike (the guard, ``_guard.py``, applies them to
every request before any route runs):

- :meth:`Auth.principal_for_token` -- the :class:`Principal` a token stands for, or None;
  tokens are compared in constant time (``hmac.compare_digest``).
- :meth:`Auth.authenticate` -- the principal of a request: its ``Authorization: Bearer``
  header, else its session cookie; None when neither is valid (always the open principal
  on a server without a token).
- :meth:`Auth.set_session_cookie` / :meth:`Auth.clear_session_cookie` -- log a browser in
  (after ``/login`` checked the token) and out. The cookie holds no token: it is signed
  with the token it was given for (HMAC), says when it was issued, and expires; it is
  HttpOnly, SameSite=Strict, and Secure when the request came over HTTPS.
- :meth:`Auth.csrf_token` (:meth:`Auth.csrf_token_for_session`) / :meth:`Auth.check_csrf`
  -- the double-submit token a page puts
  into its forms (field ``csrf_token``) or its scripts send (header ``X-CSRF-Token``):
  an HMAC of the browser's session, so another site can neither read nor forge it.
- :func:`request_principal` -- the principal the guard found, inside a route.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
import time
from collections.abc import MutableMapping
from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import Response

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Auth",
    "Principal",
    "request_principal",
]

SESSION_COOKIE = "shipway_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_SECONDS = 12 * 3600
_PRINCIPAL_KEY = "shipway.principal"


@dataclasses.dataclass(frozen=True)
class Principal:
    """Who a request acts as: ``full`` may do everything, ``read-only`` may only read;
    ``open`` is everyone, on a server without a token (loopback only)."""

    name: str
    can_write: bool
    via: str
    """How it was recognised: "bearer", "session" or "open"."""


class Auth:
    """The server's tokens, and the sessions and CSRF tokens derived from them."""

    def __init__(self, token: str | None, read_only_token: str | None) -> None:
        self.required = token is not None
        self._keys: dict[str, bytes] = {}
        if token is not None:
            self._keys["full"] = token.encode()
        if read_only_token is not None:
            self._keys["read-only"] = read_only_token.encode()
        # Signs the CSRF token of an open server's pages: new at every start.
        self._open_key = secrets.token_bytes(32)

    def principal_for_token(self, token: str) -> Principal | None:
        """The principal ``token`` stands for; every key is compared, in constant time."""
        found = None
        for name, key in self._keys.items():
            if hmac.compare_digest(token.encode(), key):
                found = name
        return _principal(found, "bearer") if found else None

    def authenticate(self, connection: HTTPConnection) -> Principal | None:
        if not self.required:
            return Principal("open", can_write=True, via="open")
        header = connection.headers.get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return self.principal_for_token(credentials.strip())
        cookie = connection.cookies.get(SESSION_COOKIE)
        return self._session_principal(cookie) if cookie else None

    # -- sessions -------------------------------------------------------------------

    def session_value(self, principal: Principal, now: float | None = None) -> str:
        """A signed session for ``principal`` (one a token stands for, not ``open``)."""
        if principal.name not in self._keys:
            raise ValueError(f"no session for the {principal.name!r} principal: it has no token")
        issued = str(int(time.time() if now is None else now))
        return f"{principal.name}.{issued}.{self._sign(principal.name, issued)}"

    def set_session_cookie(
        self, response: Response, principal: Principal, connection: HTTPConnection
    ) -> str:
        """Keep ``principal`` (from :meth:`principal_for_token`) in the browser; returns
        the cookie's value (for :meth:`csrf_token_for_session`)."""
        value = self.session_value(principal)
        response.set_cookie(
            SESSION_COOKIE,
            value,
            max_age=SESSION_SECONDS,
            path="/",
            httponly=True,
            samesite="strict",
            secure=connection.url.scheme == "https",
        )
        return value

    def clear_session_cookie(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")

    def _session_principal(self, value: str) -> Principal | None:
        name, _, rest = value.partition(".")
        issued, _, signature = rest.partition(".")
        if name not in self._keys or not issued.isdigit():
            return None
        if not hmac.compare_digest(signature, self._sign(name, issued)):
            return None
        if time.time() - int(issued) > SESSION_SECONDS:
            return None
        return _principal(name, "session")

    def _sign(self, name: str, issued: str) -> str:
        message = f"session:{name}:{issued}".encode()
        return hmac.new(self._keys[name], message, hashlib.sha256).hexdigest()

    # -- CSRF -----------------------------------------------------------------------

    def csrf_token(self, connection: HTTPConnection) -> str:
        """The token this browser's forms must send back (field ``csrf_token`` or header
        ``X-CSRF-Token``) with every state-changing request."""
        return self.csrf_token_for_session(connection.cookies.get(SESSION_COOKIE))

    def csrf_token_for_session(self, session: str | None) -> str:
        """The CSRF token of the session cookie ``session`` (right after
        :meth:`set_session_cookie`, before the browser sends it back: pass
        :meth:`session_value`'s result); an open server's pages share one."""
        principal = self._session_principal(session) if session else None
        if principal is None or session is None:
            return hmac.new(self._open_key, b"csrf:open", hashlib.sha256).hexdigest()
        key = self._keys[principal.name]
        return hmac.new(key, f"csrf:{session}".encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, connection: HTTPConnection, submitted: str | None) -> bool:
        return bool(submitted) and hmac.compare_digest(
            str(submitted), self.csrf_token(connection)
        )


def _principal(name: str, via: str) -> Principal:
    return Principal(name, can_write=name == "full", via=via)


def request_principal(connection: HTTPConnection) -> Principal | None:
    """The principal the guard recognised for this request: every guarded route has one;
    a public path (a login page) has one only when the request carried a valid token or
    session."""
    principal = connection.scope.get(_PRINCIPAL_KEY)
    return principal if isinstance(principal, Principal) else None


def remember_principal(scope: MutableMapping[str, Any], principal: Principal) -> None:
    """Attach the principal the guard found to the request (the guard's half of
    :func:`request_principal`)."""
    scope[_PRINCIPAL_KEY] = principal
