"""The pages that show: each gathers its data through the operations the API uses
(``shipway.server.operations``) and renders one template."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from shipway.errors import ShipwayError
from shipway.infrastructure._fields import field_rows
from shipway.plugins import get_registry
from shipway.schedules import Schedule, schedule_times
from shipway.server import operations as ops
from shipway.server._context import server_context
from shipway.server._errors import ApiError
from shipway.server._inputs import RunsQuery
from shipway.server.ui._chart import HOURS, chart_window, hourly_chart
from shipway.server.ui._parameters import ParameterField, parameter_fields
from shipway.server.ui._render import render
from shipway.states import StateType

__all__ = [
    "agents",
    "dashboard",
    "deployment",
    "deployment_page",
    "deployments",
    "flow_run",
    "flow_run_page",
    "flow_runs",
    "plugins",
    "work_queues",
]

RUNS_PER_PAGE = 50
LOG_LINES_SHOWN = 1000


async def dashboard(request: Request) -> Response:
    context = server_context(request)
    since = chart_window()
    counts = await context.call(context.store.count_runs_per_hour, since, HOURS)
    recent = await ops.list_runs(context, RunsQuery(limit=10))
    return render(
        request,
        "dashboard.html",
        chart=hourly_chart(counts, since),
        runs=recent.runs,
        agents=(await ops.list_agents(context))[:8],
        queues=await ops.list_work_queues(context),
    )


async def deployments(request: Request) -> Response:
    context = server_context(request)
    records = await context.call(context.store.list_deployments)
    now = datetime.now(timezone.utc)
    rows = []
    for record in records:
        view = ops.deployment_view(record)
        view["next_run"] = _next_run(record.schedule, now) if record.schedule else None
        rows.append(view)
    return render(request, "deployments.html", deployments=rows)


def _next_run(schedule: Schedule, now: datetime) -> str | None:
    upcoming = next(iter(schedule_times(schedule, now, now + timedelta(days=400))), None)
    return upcoming.isoformat() if upcoming else None


async def deployment(request: Request) -> Response:
    return await deployment_page(request, request.path_params["name"])


async def deployment_page(
    request: Request,
    name: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The deployment with its Run form; ``values`` and ``errors``: a form sent back."""
    context = server_context(request)
    record = await context.call(context.store.get_deployment, name)
    fields = await context.call(
        parameter_fields, record.entrypoint, record.working_dir, record.parameters
    )
    recent = await ops.list_runs(context, RunsQuery(deployment=name, limit=10))
    return render(
        request,
        "deployment.html",
        status_code,
        deployment=ops.deployment_view(record),
        fields=fields,
        values=values or _defaults(fields),
        errors=errors or {},
        runs=recent.runs,
    )


def _defaults(fields: list[ParameterField]) -> dict[str, str]:
    return {field.name: field.default_text for field in fields}


async def flow_runs(request: Request) -> Response:
    filters = {
        key: request.query_params[key]
        for key in ("state", "deployment", "work_queue", "cursor")
        if request.query_params.get(key)
    }
    context = server_context(request)
    error = None
    page = ops.RunsPage([], None)
    try:
        states = [filters["state"]] if "state" in filters else []
        query = RunsQuery.model_validate({**filters, "state": states, "limit": RUNS_PER_PAGE})
        page = await ops.list_runs(context, query)
    except ShipwayError as exc:
        error = exc.message
    except ValidationError as exc:
        error = exc.errors()[0]["msg"]
    except ApiError as exc:
        error = exc.message
    # The filters' choices come from the deployments (a few rows), not from counting runs.
    stored = await context.call(context.store.list_deployments)
    deployment_names = [d.name for d in stored]
    queues = sorted({d.work_queue for d in stored} | {filters.get("work_queue", "default")})
    next_query = {k: v for k, v in filters.items() if k != "cursor"}
    return render(
        request,
        "flow_runs.html",
        400 if error else 200,
        runs=page.runs,
        next_cursor=page.next_cursor,
        filters=filters,
        next_query=next_query,
        error=error,
        states=[s.value for s in StateType],
        deployment_names=deployment_names,
        queues=queues,
    )


async def flow_run(request: Request) -> Response:
    return await flow_run_page(request, request.path_params["id"])


async def flow_run_page(
    request: Request, run_id: str, *, error: str | None = None, status_code: int = 200
) -> Response:
    context = server_context(request)
    run = await ops.get_run(context, run_id)
    logs = await ops.read_logs(context, run["id"], after=0, limit=LOG_LINES_SHOWN)
    return render(
        request,
        "flow_run.html",
        status_code,
        run=run,
        logs=logs,
        final=StateType(run["state"]).is_final,
        error=error,
    )


async def agents(request: Request) -> Response:
    return render(request, "agents.html", agents=await ops.list_agents(server_context(request)))


async def work_queues(request: Request) -> Response:
    context = server_context(request)
    return render(request, "work_queues.html", queues=await ops.list_work_queues(context))


async def plugins(request: Request) -> Response:
    found = await server_context(request).call(_plugins_with_fields)
    return render(request, "plugins.html", plugins=found)


def _plugins_with_fields() -> list[dict[str, Any]]:
    """The installed plugins (as the API lists them), each infrastructure type with the
    field table ``shipway infra schema`` prints."""
    registry = get_registry()
    found = ops.list_plugins()
    for plugin in found:
        loads = plugin["kind"] == "infrastructure" and plugin.get("schema")
        plugin["fields"] = field_rows(registry.resolve(plugin["name"])) if loads else []
    return found
