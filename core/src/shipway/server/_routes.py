"""The API's route table: each :class:`Endpoint` says its method, path, handler, what it
takes and what it answers; :func:`starlette_routes` serves them and :func:`openapi`
describes the very same table, so the schema cannot say what the server does not do.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pydantic import BaseModel, TypeAdapter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shipway._version import __version__
from shipway.server._inputs import query_parameters

__all__ = ["Endpoint", "openapi", "starlette_routes"]

Handler = Callable[[Request], Awaitable[Any]]


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """One API operation. ``handler`` returns JSON-able data (answered with ``status``)
    or a Response of its own (a stream)."""

    method: str
    path: str
    handler: Handler
    summary: str
    status: int = 200
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    returns: Any = None
    """The type of its answer (a model of ``_schemas``, or a list of one)."""
    answers: str = "application/json"
    errors: tuple[int, ...] = ()
    """The statuses besides 401/403 it may answer with (404, 409, 422...)."""


def starlette_routes(endpoints: Sequence[Endpoint]) -> list[Route]:
    """Starlette routes for ``endpoints`` (one Route per path, its methods together)."""
    by_path: dict[str, list[Endpoint]] = {}
    for endpoint in endpoints:
        by_path.setdefault(endpoint.path, []).append(endpoint)
    return [
        Route(path, _dispatch({e.method: e for e in group}), methods=[e.method for e in group])
        for path, group in by_path.items()
    ]


def _dispatch(by_method: dict[str, Endpoint]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        chosen = by_method[method]
        result = await chosen.handler(request)
        if isinstance(result, Response):
            return result
        return JSONResponse(result, status_code=chosen.status)

    return endpoint


_REASONS = {
    200: "OK",
    201: "Created",
    401: "No token, or a wrong one",
    403: "The token may not do this (read-only), or the request came from another site",
    404: "The deployment, run or work queue does not exist (the message names it)",
    409: "A rule refuses it, e.g. cancelling a finished run",
    413: "The body is larger than the server's limit",
    422: "A field is wrong (`field` names it)",
    503: "The store cannot be reached",
}


def openapi(endpoints: Sequence[Endpoint], *, title: str = "shipway") -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``endpoints``."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {
        "Error": {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {
                        "status": {"type": "integer"},
                        "message": {"type": "string"},
                        "hint": {"type": "string"},
                        "field": {"type": "string"},
                    },
                    "required": ["status", "message"],
                }
            },
        }
    }
    for endpoint in endpoints:
        operation: dict[str, Any] = {
            "summary": endpoint.summary,
            "operationId": _operation_id(endpoint),
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in re.findall(r"{(\w+)}", endpoint.path)
            ]
            + (query_parameters(endpoint.query) if endpoint.query else []),
            "responses": {
                str(endpoint.status): {
                    "description": _REASONS.get(endpoint.status, "OK"),
                    "content": {endpoint.answers: _media(endpoint.returns, schemas)},
                },
                **{
                    str(code): {
                        "description": _REASONS[code],
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    }
                    for code in (401, 403, *endpoint.errors)
                },
            },
        }
        if endpoint.body is not None:
            operation["requestBody"] = {
                "required": False,
                "content": {"application/json": _media(endpoint.body, schemas)},
            }
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": __version__},
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }


def _media(kind: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    """``{"schema": ...}`` for the type ``kind``, its models added to ``schemas``."""
    if kind is None:
        return {}
    schema = TypeAdapter(kind).json_schema(ref_template=_REF)
    schemas.update(schema.pop("$defs", {}))
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        schemas[kind.__name__] = schema
        schema = {"$ref": _REF.format(model=kind.__name__)}
    return {"schema": schema}


_REF = "#/components/schemas/{model}"


def _operation_id(endpoint: Endpoint) -> str:
    words = re.sub(r"[{}]", "", endpoint.path).strip("/").replace("-", "_").split("/")
    return "_".join([endpoint.method.lower(), *words[1:]])
