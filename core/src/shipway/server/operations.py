"""What the API and the UI do, once: each operation reads or changes the store through
its façade (off the event loop) and returns plain data with secrets masked
(``shipway.secrets.mask``, as the CLI shows them). Routes only parse input and render.

Running a deployment goes through ``shipway.runs.create_run``, the function
``shipway deployment run`` calls; runs and their history are shown by
``shipway.runs.run_view`` and ``history_view``, as ``shipway flow-run inspect`` shows them.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from datetime import datetime, timezone
from typing import Any

from shipway import runs
from shipway.errors import ConfigError
from shipway.liveness import alive_since
from shipway.log_lines import level_name
from shipway.plugins import get_registry
from shipway.schedules import describe_schedule
from shipway.secrets import mask
from shipway.server._context import ServerContext
from shipway.server._errors import ApiError
from shipway.server._inputs import RunInput, RunsQuery
from shipway.store import DeploymentRecord, RunPosition, StoredLogLine

__all__ = [
    "RunsPage",
    "cancel_run",
    "create_run",
    "decode_cursor",
    "deployment_view",
    "encode_cursor",
    "get_deployment",
    "get_run",
    "get_work_queue",
    "list_agents",
    "list_deployments",
    "list_plugins",
    "list_runs",
    "list_work_queues",
    "log_view",
    "read_logs",
    "set_work_queue_limit",
]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def deployment_view(record: DeploymentRecord) -> dict[str, Any]:
    """A stored deployment with its resolved infrastructure, secrets masked."""
    return mask(
        {
            "name": record.name,
            "flow": record.entrypoint,
            "flow_name": record.flow_name,
            "working_dir": record.working_dir,
            "parameters": record.parameters,
            "infrastructure": record.infrastructure,
            "work_queue": record.work_queue,
            "schedule": describe_schedule(record.schedule) if record.schedule else None,
            "tags": list(record.tags),
            "description": record.description,
            "version": record.version,
            "retries": record.retries,
            "retry_delay_seconds": record.retry_delay_seconds,
            "created": _iso(record.created),
            "updated": _iso(record.updated),
        }
    )


async def list_deployments(context: ServerContext) -> list[dict[str, Any]]:
    records = await context.call(context.store.list_deployments)
    return [deployment_view(record) for record in records]


async def get_deployment(context: ServerContext, name: str) -> dict[str, Any]:
    return deployment_view(await context.call(context.store.get_deployment, name))


async def create_run(context: ServerContext, deployment: str, body: RunInput) -> dict[str, Any]:
    """A new run of ``deployment``, as ``shipway deployment run`` makes it (overrides
    that do not fit its infrastructure: 422 naming ``overrides``, and no run)."""
    try:
        record = await context.call(
            runs.create_run,
            context.store,
            deployment,
            parameters=body.parameters,
            overrides=body.overrides,
            scheduled_time=body.scheduled_time,
        )
    except ConfigError as exc:
        raise ApiError(422, exc.message, field="overrides", hint=exc.hint) from None
    return runs.run_view(record)


@dataclasses.dataclass(frozen=True)
class RunsPage:
    runs: list[dict[str, Any]]
    next_cursor: str | None
    """Pass it as ``cursor`` for the next (older) page; None on the last page."""


async def list_runs(context: ServerContext, query: RunsQuery) -> RunsPage:
    states = runs.parse_states(query.state, option="state") if query.state else None
    before = decode_cursor(query.cursor) if query.cursor else None
    if query.deployment is not None:  # an unknown name is a mistake, not "no runs"
        await context.call(context.store.get_deployment, query.deployment)
    records = await context.call(
        context.store.list_flow_runs,
        deployment=query.deployment,
        states=states,
        work_queue=query.work_queue,
        limit=query.limit + 1,  # one more tells whether another page follows
        before=before,
    )
    page = records[: query.limit]
    more = len(records) > query.limit
    cursor = encode_cursor(RunPosition.of(page[-1])) if more and page else None
    return RunsPage([runs.run_view(r) for r in page], cursor)


def encode_cursor(position: RunPosition) -> str:
    raw = json.dumps(
        [position.scheduled_time.isoformat(), position.created.isoformat(), position.id]
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> RunPosition:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        scheduled, created, run_id = json.loads(raw)
        return RunPosition(
            datetime.fromisoformat(scheduled), datetime.fromisoformat(created), str(run_id)
        )
    except (binascii.Error, ValueError, TypeError) as exc:
        raise ApiError(
            422, "cursor: not a cursor this API gave out (take next_cursor as it is)",
            field="cursor",
        ) from exc  # fmt: skip


async def get_run(context: ServerContext, run_id: str) -> dict[str, Any]:
    """A run with its state history, oldest first."""
    store = context.store
    run = await context.call(store.get_flow_run, run_id)
    history = await context.call(store.state_history, run.id)
    agents = await context.call(store.list_agents)
    data = runs.run_view(run)
    data["agent"] = runs.agent_label(run.agent_id, {a.id: a.name for a in agents})
    data["history"] = runs.history_view(history, agents)
    return data


def log_view(line: StoredLogLine) -> dict[str, Any]:
    return {
        "seq": line.seq,
        "timestamp": line.timestamp.isoformat(),
        "stream": line.stream,
        "attempt": line.attempt,
        "level": None if line.level is None else level_name(line.level),
        "source": line.source,
        "text": mask(line.text),
    }


async def read_logs(
    context: ServerContext,
    run_id: str,
    *,
    after: int,
    limit: int,
    min_level: int | None = None,
) -> dict[str, Any]:
    """Lines with ``seq > after``; ``final`` says whether the run has ended (so no line
    comes after the last one read). ``min_level``: only run logger records at that level
    or above, as `shipway flow-run logs --level` reads them."""
    run = await context.call(context.store.get_flow_run, run_id)
    lines = await context.call(
        context.store.read_logs, run.id, after=after, limit=limit, min_level=min_level
    )
    return {
        "flow_run_id": run.id,
        "lines": [log_view(line) for line in lines],
        "next_after": lines[-1].seq if lines else after,
        "state": run.state.value,
        "final": run.state.is_final,
    }


async def cancel_run(context: ServerContext, run_id: str) -> dict[str, Any]:
    """Cancelled at once if not started, else Cancelling (its agent stops it);
    409 (``StateConflict``) when it has finished."""
    return runs.run_view(await context.call(context.store.request_cancellation, run_id))


async def list_agents(context: ServerContext) -> list[dict[str, Any]]:
    agents = await context.call(context.store.list_agents)
    counts = await context.call(context.store.count_runs_by_agent)
    live_after = alive_since(datetime.now(timezone.utc))
    return [
        {
            "id": a.id,
            "name": a.name,
            "queues": list(a.queues),
            "limit": a.limit,
            "infrastructure_types": list(a.infrastructure_types)
            if a.infrastructure_types is not None
            else None,
            "started": _iso(a.started),
            "last_heartbeat": _iso(a.last_heartbeat),
            "stopped": _iso(a.stopped),
            "alive": a.stopped is None and a.last_heartbeat >= live_after,
            "active_runs": counts.get(a.id, 0),
        }
        for a in agents
    ]


async def list_work_queues(context: ServerContext) -> list[dict[str, Any]]:
    queues = await context.call(context.store.list_work_queues)
    return [dataclasses.asdict(queue) for queue in queues]


async def get_work_queue(context: ServerContext, name: str) -> dict[str, Any]:
    for queue in await list_work_queues(context):
        if queue["name"] == name:
            return queue
    raise ApiError(404, f"no work queue named {name!r}")


async def set_work_queue_limit(
    context: ServerContext, name: str, limit: int | None
) -> dict[str, Any]:
    """At most ``limit`` runs of the queue at once (None: no limit, 0: paused)."""
    queue = await context.call(context.store.set_work_queue_limit, name, limit)
    return dataclasses.asdict(queue)


def list_plugins() -> list[dict[str, Any]]:
    """Every discovered plugin, and for each infrastructure type that loads, its fields'
    JSON schema (what ``shipway infra schema TYPE --json`` prints)."""
    registry = get_registry()
    plugins = []
    for info in registry.list_plugins():
        entry: dict[str, Any] = info.to_dict()
        entry["schema"] = None
        if info.kind == "infrastructure" and info.error is None:
            try:
                entry["schema"] = registry.resolve(info.name).model_json_schema()
            except Exception as exc:  # a broken plugin is reported beside the others
                entry["error"] = f"{type(exc).__name__}: {exc}"
        plugins.append(mask(entry))
    return plugins
