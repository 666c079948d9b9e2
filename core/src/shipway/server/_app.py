"""``create_app(settings)``: the ASGI app ``shipway server start`` serves.

How a part of the server adds its pages (the web UI, agent endpoints): it builds
Starlette routes and passes them as ``routes``; paths anyone may open without a token (a
login page, static assets) go in ``public_paths``/``public_prefixes``. Every other path
passes the guard (``_guard.py``): a principal is required, the read-only one may only
read, and browser posts need the CSRF token. Handlers reach the store with
``server_context(request).call(store_method, ...)`` and share ``_operations``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from shipway.server._agent_api import AGENT_API
from shipway.server._api import API
from shipway.server._auth import Auth
from shipway.server._context import lifespan
from shipway.server._errors import exception_handlers
from shipway.server._guard import Guard
from shipway.server._routes import starlette_routes
from shipway.server._settings import ServerSettings
from shipway.server.ui import PUBLIC_PATHS, PUBLIC_PREFIXES, ROUTES

__all__ = ["create_app"]


def create_app(
    settings: ServerSettings,
    *,
    routes: Sequence[BaseRoute] = (),
    public_paths: Collection[str] = (),
    public_prefixes: Collection[str] = (),
    login_path: str = "/login",
) -> Starlette:
    """The server's app: the API under ``/api``, ``routes`` and the web UI
    (``shipway.server.ui``) beside it. The store is
    opened when the app starts (its lifespan) and closed when it stops."""
    auth = Auth(settings.token, settings.read_only_token)
    guard_options: dict[str, Any] = {
        "auth": auth,
        "max_body_bytes": settings.max_body_bytes,
        "public_paths": (*public_paths, *PUBLIC_PATHS),
        "public_prefixes": (*public_prefixes, *PUBLIC_PREFIXES),
        "login_path": login_path,
    }
    app = Starlette(
        routes=[*starlette_routes((*API, *AGENT_API)), *routes, *ROUTES],
        middleware=[Middleware(Guard, **guard_options)],
        exception_handlers=exception_handlers,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.auth = auth
    return app
