"""The internal agent API: ``POST /api/agent/v1/<method>`` for each method of
:class:`~shipway.store.StoreInterface`, for :class:`~shipway.store.RemoteStore` (remote
agents, and commands run with ``SHIPWAY_API_URL``). :data:`AGENT_API` is its route
table: the app serves it beside the public one (``_api``), and the OpenAPI schema lists
it, marked internal.

Each call is the very same :class:`~shipway.store.Store` method the database path calls
(a new run: ``shipway.runs.create_run``, which ``deployment run`` calls there), run by
the server (a claim is one transaction here, so a run is never handed to two agents).
Arguments and results are JSON as ``shipway.store._wire`` writes them, from the
interface's type hints; secrets the store holds sealed stay sealed. It sits behind the
app's guard like every route: a token is required when the server has one, and the
read-only token is refused (every call is a POST). A store error is answered with its
status (``_errors``) and its class named in ``X-Shipway-Error``, for the client to raise
the same one. Internal: the version in the path changes when a call does; the public
REST API is ``/api/...`` (``_api``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shipway import runs
from shipway.errors import ShipwayError
from shipway.server._context import server_context
from shipway.server._errors import ApiError, _status_of, error_response
from shipway.server._inputs import read_json_object
from shipway.server._routes import Endpoint
from shipway.store import Store
from shipway.store._interface import remote_methods
from shipway.store._remote import AGENT_API_PREFIX, ERROR_TYPE_HEADER, WIRE_ERRORS
from shipway.store._wire import argument_types, from_wire, signature, to_wire

__all__ = ["AGENT_API"]

_METHODS = frozenset(remote_methods())


async def call_store(request: Request) -> Response:
    method = request.path_params["method"]
    if method not in _METHODS:
        raise ApiError(404, f"the agent API has no call named {method!r}")
    arguments = _arguments(method, await read_json_object(request))
    context = server_context(request)
    try:
        result = await context.call(_implementation(context.store, method), **arguments)
    except ShipwayError as exc:
        response = error_response(_status_of(exc), exc.message, hint=exc.hint)
        response.headers[ERROR_TYPE_HEADER] = _wire_name(exc)
        return response
    return JSONResponse({"result": to_wire(result)})


def _implementation(store: Store, method: str) -> Callable[..., Any]:
    """The store's method; except that a new run is made by ``shipway.runs.create_run``,
    as ``deployment run`` and the public API make it: its overrides are checked here,
    with the server's secret key, which the caller may not have."""
    if method == "create_flow_run":
        return functools.partial(runs.create_run, store)
    return getattr(store, method)  # type: ignore[no-any-return]  # a name of the interface


def _arguments(method: str, data: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments, each validated as the interface declares it (422 naming
    the one that does not fit)."""
    types = argument_types(method)
    arguments = {}
    for name, value in data.items():
        if name not in types:
            raise ApiError(422, f"{method}() takes no argument {name!r}", field=name)
        try:
            arguments[name] = from_wire(value, types[name])
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join([name, *(str(part) for part in first["loc"])])
            raise ApiError(422, f"{where}: {first['msg']}", field=name) from None
    try:
        signature(method).bind(None, **arguments)  # None: the interface's `self`
    except TypeError as exc:
        raise ApiError(422, f"{method}(): {exc}", field="body") from None
    return arguments


def _wire_name(exc: ShipwayError) -> str:
    """The most specific class of ``exc`` a client knows (``WIRE_ERRORS``)."""
    for cls in type(exc).__mro__:
        if WIRE_ERRORS.get(cls.__name__) is cls:
            return cls.__name__
    return ShipwayError.__name__


AGENT_API: tuple[Endpoint, ...] = (
    Endpoint(
        "POST", AGENT_API_PREFIX + "/{method}", call_store,
        "Internal: one call of the store interface, for remote agents and the CLI "
        "(RemoteStore); the body holds its arguments by name, the answer its result",
        errors=(404, 409, 413, 422, 503),
    ),
)  # fmt: skip
