"""What every interface does with flow runs, written once: create a run of a stored
deployment (its overrides checked first), read state names, and show a run and its
history as plain data with secrets masked (``shipway.secrets.mask``).

The CLI (``deployment run``, ``flow-run ...``) and the server (API and UI) call these;
neither holds a copy of the rules.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shipway.deployments import resolve_run
from shipway.errors import ShipwayError
from shipway.plugins import PluginError
from shipway.secrets import UnreadableSecret, mask
from shipway.states import StateType

if TYPE_CHECKING:  # the store loads SQLAlchemy, which `deployment ls -f` never needs
    from shipway.store import AgentRecord, FlowRunRecord, StateRecord, StoreInterface

__all__ = [
    "agent_label",
    "create_run",
    "history_view",
    "parse_states",
    "run_view",
]


def create_run(
    store: StoreInterface,
    deployment: str,
    *,
    parameters: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    scheduled_time: datetime | None = None,
) -> FlowRunRecord:
    """A new Scheduled run of the stored ``deployment`` (due now unless ``scheduled_time``).

    Overrides that do not fit the deployment's infrastructure fail here, before anything
    is written, not later on the agent; a plugin not installed here, or a secret key this
    machine lacks (a command working through a server, which keeps the key), is no reason
    to refuse (the agent checks again anyway)."""
    record = store.get_deployment(deployment)
    if overrides:
        request = record.run_request(parameters=dict(parameters or {}), overrides=overrides)
        with contextlib.suppress(PluginError, UnreadableSecret):
            resolve_run(request)
    return store.create_flow_run(
        deployment,
        parameters=parameters,
        overrides=overrides,
        scheduled_time=scheduled_time,
    )


def parse_states(values: Iterable[str], *, option: str = "--state") -> list[StateType]:
    """State names in any case, each value possibly comma-separated (``running,failed``);
    ``option`` names where they came from in the message about a wrong one."""
    by_name = {s.value.lower(): s for s in StateType}
    states = []
    for value in values:
        for part in value.split(","):
            name = part.strip().lower()
            if name not in by_name:
                raise ShipwayError(
                    f"{option} {part.strip()!r} is not a state",
                    hint=f"States: {', '.join(s.value for s in StateType)}.",
                )
            states.append(by_name[name])
    return states


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def run_view(run: FlowRunRecord) -> dict[str, Any]:
    """A run as every interface shows it, secrets masked."""
    data = {
        "id": run.id,
        "deployment": run.deployment_name,
        "flow": run.entrypoint,
        "state": run.state.value,
        "message": run.state_message,
        "work_queue": run.work_queue,
        "scheduled_time": _iso(run.scheduled_time),
        "created": _iso(run.created),
        "start_time": _iso(run.start_time),
        "end_time": _iso(run.end_time),
        "attempt": run.attempt,
        "retries": run.retries,
        "identifier": run.identifier,
        "exit_code": run.exit_code,
        "agent": run.agent_id,
        "parameters": run.parameters,
        "overrides": run.overrides,
        "infrastructure": run.infrastructure,
        "working_dir": run.working_dir,
    }
    return mask(data)


def agent_label(agent_id: str | None, agents: Mapping[str, str]) -> str | None:
    """``name (id)`` for an agent the store knows, its id alone otherwise."""
    if agent_id is None:
        return None
    name = agents.get(agent_id)
    return f"{name} ({agent_id})" if name else agent_id


def history_view(
    history: Sequence[StateRecord], agents: Sequence[AgentRecord]
) -> list[dict[str, Any]]:
    """A run's state history, oldest first, messages masked."""
    names = {agent.id: agent.name for agent in agents}
    return [
        {
            "state": h.type.value,
            "timestamp": h.timestamp.isoformat(),
            "attempt": h.attempt,
            "message": mask(h.message),
            "agent": agent_label(h.agent_id, names),
            "identifier": h.identifier,
        }
        for h in history
    ]
