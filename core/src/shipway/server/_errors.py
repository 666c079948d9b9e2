"""Errors as the API answers them: always JSON, ``{"error": {"status", "message",
"hint", "field"}}``, with the status a client can act on, and the message masked.

=========================================  ======
What went wrong                            Status
=========================================  ======
a field of the body or query is wrong      422 (``field`` names it)
a deployment, run, route... does not exist 404
a rule refuses it (cancel a finished run)  409
the body is over the limit                 413
the store cannot be reached                503
anything else                              500 (the message names no value)
=========================================  ======
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shipway.errors import DeploymentNotFound, ShipwayError
from shipway.secrets import mask
from shipway.server._guard import BodyTooLarge
from shipway.store import (
    FlowRunNotFound,
    StateConflict,
    StoreFailed,
    StoreRefused,
    StoreUnavailable,
)

__all__ = ["ApiError", "error_response", "exception_handlers"]

logger = logging.getLogger("shipway.server")


class ApiError(Exception):
    """An answer other than success, raised by a route: ``status``, a message and the
    field it is about."""

    def __init__(
        self, status: int, message: str, *, field: str | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.hint = hint


def error_response(
    status: int, message: str, *, field: str | None = None, hint: str | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"status": status, "message": mask(message)}
    if hint:
        body["hint"] = mask(hint)
    if field is not None:
        body["field"] = field
    return JSONResponse({"error": body}, status_code=status)


def _status_of(exc: ShipwayError) -> int:
    if isinstance(exc, (DeploymentNotFound, FlowRunNotFound)):
        return 404
    if isinstance(exc, StateConflict):
        return 409
    if isinstance(exc, (StoreUnavailable, StoreRefused)):
        return 503
    if isinstance(exc, StoreFailed):
        return 500
    return 422  # a configuration or parameter the request carried does not fit


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.message, field=exc.field, hint=exc.hint)


async def _shipway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ShipwayError)
    return error_response(_status_of(exc), exc.message, hint=exc.hint)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    return error_response(422, f"{field or 'body'}: {first['msg']}", field=field or None)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {404: f"no such path: {request.url.path}", 405: "method not allowed here"}
    return error_response(exc.status_code, messages.get(exc.status_code, str(exc.detail)))


async def _too_large(request: Request, exc: Exception) -> Response:
    return error_response(413, str(exc))


async def _unexpected(request: Request, exc: Exception) -> Response:
    logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(
        500, f"unexpected {type(exc).__name__}: this is a bug in shipway or a plugin"
    )


exception_handlers = {
    ApiError: _api_error,
    ShipwayError: _shipway_error,
    ValidationError: _validation_error,
    HTTPException: _http_error,
    BodyTooLarge: _too_large,
    Exception: _unexpected,
}
