"""``shipway server``: the REST API (and web UI) over the store, with token auth.

Needs the extra: ``pip install 'shipway[server]'`` (Starlette, uvicorn, Jinja2).
docs/server.md documents the API, docs/security.md the auth model.

Building on it (the web UI, agent endpoints):

- :func:`create_app` ``(settings, routes=..., public_paths=..., public_prefixes=...)``
  serves the API and extra routes behind one guard (``_guard.py``).
- :func:`server_context` ``(request)`` -> :class:`ServerContext`: ``.store``,
  ``.call(fn, *args)`` (a store call off the event loop), ``.auth``, ``.settings``,
  ``.stopping``.
- :class:`Auth` (``server_context(request).auth``): ``principal_for_token``,
  ``authenticate``, ``set_session_cookie``, ``clear_session_cookie``, ``csrf_token``,
  ``check_csrf``; :func:`request_principal` gives the :class:`Principal` of a request.
- :mod:`shipway.server.operations`: what the API does, for the UI to do the same.
"""

from __future__ import annotations

from shipway.server._app import create_app
from shipway.server._auth import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    Auth,
    Principal,
    request_principal,
)
from shipway.server._context import ServerContext, server_context
from shipway.server._errors import ApiError, error_response
from shipway.server._settings import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    MIN_TOKEN_BYTES,
    TOKEN_VAR,
    ServerSettings,
    is_loopback,
)

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "MIN_TOKEN_BYTES",
    "SESSION_COOKIE",
    "TOKEN_VAR",
    "ApiError",
    "Auth",
    "Principal",
    "ServerContext",
    "ServerSettings",
    "create_app",
    "error_response",
    "is_loopback",
    "request_principal",
    "server_context",
]
