"""The public REST API under ``/api``: each handler parses its input, calls one
operation (``shipway.server.operations``) and returns its data; :data:`API` is the route table the
app serves and ``/api/openapi.json`` describes."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from shipway._version import __version__
from shipway.server import _schemas as schemas
from shipway.server import operations as ops
from shipway.server._agent_api import AGENT_API
from shipway.server._context import server_context
from shipway.server._inputs import (
    LogsQuery,
    RunInput,
    RunsQuery,
    WorkQueueInput,
    parse_body,
    parse_query,
)
from shipway.server._routes import Endpoint, openapi
from shipway.server._sse import log_stream

__all__ = ["API"]


async def health(request: Request) -> dict[str, Any]:
    context = server_context(request)
    return {"status": "ok", "version": __version__, "store": context.store.backend}


async def openapi_schema(request: Request) -> dict[str, Any]:
    return openapi((*API, *AGENT_API))  # the internal agent API too, marked so


async def list_deployments(request: Request) -> list[dict[str, Any]]:
    return await ops.list_deployments(server_context(request))


async def get_deployment(request: Request) -> dict[str, Any]:
    return await ops.get_deployment(server_context(request), request.path_params["name"])


async def create_run(request: Request) -> dict[str, Any]:
    body = await parse_body(request, RunInput)
    return await ops.create_run(server_context(request), request.path_params["name"], body)


async def list_runs(request: Request) -> dict[str, Any]:
    page = await ops.list_runs(server_context(request), parse_query(request, RunsQuery))
    return {"runs": page.runs, "next_cursor": page.next_cursor}


async def get_run(request: Request) -> dict[str, Any]:
    return await ops.get_run(server_context(request), request.path_params["id"])


async def read_logs(request: Request) -> dict[str, Any]:
    query: LogsQuery = parse_query(request, LogsQuery)
    return await ops.read_logs(
        server_context(request),
        request.path_params["id"],
        after=query.after,
        limit=query.limit,
        min_level=query.min_level(),
    )


async def stream_logs(request: Request) -> Response:
    query: LogsQuery = parse_query(request, LogsQuery)
    resumed = request.headers.get("last-event-id", "")  # an EventSource reconnecting
    after = int(resumed) if resumed.isdigit() else query.after
    return await log_stream(
        request, request.path_params["id"], after=after, min_level=query.min_level()
    )


async def cancel_run(request: Request) -> dict[str, Any]:
    return await ops.cancel_run(server_context(request), request.path_params["id"])


async def list_agents(request: Request) -> list[dict[str, Any]]:
    return await ops.list_agents(server_context(request))


async def list_work_queues(request: Request) -> list[dict[str, Any]]:
    return await ops.list_work_queues(server_context(request))


async def get_work_queue(request: Request) -> dict[str, Any]:
    return await ops.get_work_queue(server_context(request), request.path_params["name"])


async def set_work_queue(request: Request) -> dict[str, Any]:
    body: WorkQueueInput = await parse_body(request, WorkQueueInput)
    return await ops.set_work_queue_limit(
        server_context(request), request.path_params["name"], body.limit
    )


async def list_plugins(request: Request) -> list[dict[str, Any]]:
    # Loading plugins imports their modules: not on the event loop.
    return await server_context(request).call(ops.list_plugins)


API: tuple[Endpoint, ...] = (
    Endpoint(
        "GET", "/api/health", health, "Is the server up, and on which store",
        returns=schemas.Health,
    ),
    Endpoint("GET", "/api/openapi.json", openapi_schema, "This API's OpenAPI schema"),
    Endpoint(
        "GET", "/api/deployments", list_deployments, "List the stored deployments",
        returns=list[schemas.Deployment],
    ),
    Endpoint(
        "GET", "/api/deployments/{name}", get_deployment,
        "A deployment, with its infrastructure (secrets masked)",
        returns=schemas.Deployment, errors=(404,),
    ),
    Endpoint(
        "POST", "/api/deployments/{name}/runs", create_run,
        "Create a run of a deployment (as `shipway deployment run`)",
        status=201, body=RunInput, returns=schemas.FlowRun, errors=(404, 413, 422),
    ),
    Endpoint(
        "GET", "/api/flow-runs", list_runs,
        "List flow runs, newest first, a page at a time (next_cursor)",
        query=RunsQuery, returns=schemas.RunsPage, errors=(404, 422),
    ),
    Endpoint(
        "GET", "/api/flow-runs/{id}", get_run,
        "A flow run (id or unique prefix) with its state history",
        returns=schemas.FlowRunWithHistory, errors=(404,),
    ),
    Endpoint(
        "GET", "/api/flow-runs/{id}/logs", read_logs,
        "A flow run's output lines after a sequence number",
        query=LogsQuery, returns=schemas.Logs, errors=(404, 422),
    ),
    Endpoint(
        "GET", "/api/flow-runs/{id}/logs/stream", stream_logs,
        "A flow run's output, live, as server-sent events (ends when the run has)",
        query=LogsQuery, answers="text/event-stream", errors=(404, 422),
    ),
    Endpoint(
        "POST", "/api/flow-runs/{id}/cancel", cancel_run,
        "Cancel a flow run (409 when it has finished)", returns=schemas.FlowRun, errors=(404, 409),
    ),
    Endpoint(
        "GET", "/api/agents", list_agents, "List the agents and their last heartbeat",
        returns=list[schemas.Agent],
    ),
    Endpoint(
        "GET", "/api/work-queues", list_work_queues, "List work queues and their limits",
        returns=list[schemas.WorkQueue],
    ),
    Endpoint(
        "GET", "/api/work-queues/{name}", get_work_queue, "A work queue",
        returns=schemas.WorkQueue, errors=(404,),
    ),
    Endpoint(
        "PUT", "/api/work-queues/{name}", set_work_queue,
        "Set a work queue's concurrency limit",
        body=WorkQueueInput, returns=schemas.WorkQueue, errors=(413, 422),
    ),
    Endpoint(
        "GET", "/api/plugins", list_plugins,
        "The installed plugins, with each infrastructure type's JSON schema",
        returns=list[schemas.Plugin],
    ),
)  # fmt: skip
