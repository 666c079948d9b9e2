"""A page that fails shows a page: a missing deployment or run is a 404 page, the store
being unreachable a 503 page, with the same status and masked message the API gives."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from shipway.errors import ShipwayError
from shipway.secrets import mask
from shipway.server._errors import ApiError
from shipway.server._errors import _status_of as status_of  # the API's statuses, once
from shipway.server.ui._render import render

__all__ = ["shown_as_page"]

Page = Callable[[Request], Awaitable[Response]]


def shown_as_page(page: Page) -> Page:
    @functools.wraps(page)
    async def shown(request: Request) -> Response:
        try:
            return await page(request)
        except ApiError as exc:
            return _error_page(request, exc.status, exc.message, exc.hint)
        except ShipwayError as exc:
            return _error_page(request, status_of(exc), exc.message, exc.hint)

    return shown


def _error_page(request: Request, status: int, message: str, hint: str | None) -> Response:
    return render(
        request, "error.html", status, status=status, message=mask(message), hint=mask(hint or "")
    )
