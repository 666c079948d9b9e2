"""Rendering a page: the one Jinja2 environment, and what every page is given (who is
looking, whether they may run or cancel, the CSRF token its forms send back).

Autoescaping is on for every template: a value from the store (a flow's output, a
parameter) is text on the page, never markup.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from shipway.server._auth import request_principal
from shipway.server._context import server_context

__all__ = ["STATIC", "TEMPLATES", "render"]

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def _ago(value: str | datetime | None) -> str:
    """``3 min ago`` / ``in 2 h`` for an ISO time (what a dashboard reader wants)."""
    if value is None:
        return "—"
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    seconds = (datetime.now(timezone.utc) - when).total_seconds()
    span = abs(seconds)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min"), (1, "s")):
        if span >= size or size == 1:
            text = f"{int(span // size)} {unit}"
            break
    return f"{text} ago" if seconds >= 0 else f"in {text}"


def _clock(value: str | None) -> str:
    """``2026-12-06 07:19:28`` (UTC), the full time in a title or a table."""
    if value is None:
        return "—"
    return datetime.fromisoformat(value).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _duration(start: str | None, end: str | None) -> str:
    if start is None:
        return "—"
    finish = datetime.fromisoformat(end) if end else datetime.now(timezone.utc)
    seconds = int((finish - datetime.fromisoformat(start)).total_seconds())
    minutes, seconds = divmod(max(seconds, 0), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters.update(ago=_ago, clock=_clock)
_environment.globals.update(duration=_duration)


def render(
    request: Request, template: str, status_code: int = 200, *, public: bool = False, **values: Any
) -> HTMLResponse:
    """``template`` filled with ``values`` and what every page shows. ``public``: a page
    the guard lets anyone see (the login page), which has no principal."""
    context = server_context(request)
    principal = None if public else request_principal(request)
    page = _environment.get_template(template).render(
        path=request.url.path,
        login_page=public,
        can_write=principal is not None and principal.can_write,
        signed_in=principal is not None and principal.via == "session",
        auth_required=context.auth.required,
        csrf_token=context.auth.csrf_token(request),
        **values,
    )
    return HTMLResponse(page, status_code=status_code)
