"""The web UI: server-rendered pages over the same operations as the API.

Pages are Jinja2 templates (``templates/``) with a stylesheet and a few lines of plain
JavaScript (``static/``: the live log tail over the API's event stream); nothing is
built with Node and nothing is loaded from another site. ``create_app`` mounts
:data:`ROUTES`; the login page and the static files are :data:`PUBLIC_PATHS` and
:data:`PUBLIC_PREFIXES` (everything else needs a principal: the guard redirects a
browser without one to ``/login``).
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from shipway.server.ui import _actions as actions
from shipway.server.ui import _pages as pages
from shipway.server.ui._errors import shown_as_page
from shipway.server.ui._render import STATIC

__all__ = ["PAGE_PATHS", "PUBLIC_PATHS", "PUBLIC_PREFIXES", "ROUTES"]

PUBLIC_PATHS = ("/login",)
PUBLIC_PREFIXES = ("/static/",)

ROUTES: list[BaseRoute] = [
    Route("/", shown_as_page(pages.dashboard)),
    Route("/deployments", shown_as_page(pages.deployments)),
    Route("/deployments/{name}", shown_as_page(pages.deployment)),
    Route("/deployments/{name}/run", shown_as_page(actions.run_deployment), methods=["POST"]),
    Route("/flow-runs", shown_as_page(pages.flow_runs)),
    Route("/flow-runs/{id}", shown_as_page(pages.flow_run)),
    Route("/flow-runs/{id}/cancel", shown_as_page(actions.cancel), methods=["POST"]),
    Route("/flow-runs/{id}/run-again", shown_as_page(actions.run_again), methods=["POST"]),
    Route("/agents", shown_as_page(pages.agents)),
    Route("/work-queues", shown_as_page(pages.work_queues)),
    Route("/work-queues/{name}", shown_as_page(actions.set_limit), methods=["POST"]),
    Route("/plugins", shown_as_page(pages.plugins)),
    Route("/login", actions.login_form),
    Route("/login", actions.log_in, methods=["POST"]),
    Route("/logout", actions.log_out, methods=["POST"]),
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
]

PAGE_PATHS = (
    "/",
    "/deployments",
    "/flow-runs",
    "/agents",
    "/work-queues",
    "/plugins",
)
"""The pages reached from the navigation (the others hang off them)."""
