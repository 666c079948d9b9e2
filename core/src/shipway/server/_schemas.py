"""What the API answers, as pydantic models: the OpenAPI schema's response bodies.

The data itself is built by ``shipway.runs`` and ``shipway.server.operations`` (masked
there); these models only describe it. ``tests/server/test_api.py`` validates every
route's real answers against the model its route declares (unknown keys are an error), so
the schema cannot drift from what the server sends.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Agent",
    "Deployment",
    "FlowRun",
    "FlowRunWithHistory",
    "Health",
    "LogLine",
    "Logs",
    "Plugin",
    "RunsPage",
    "StateEntry",
    "WorkQueue",
]

StateName = Literal[
    "Scheduled", "Pending", "Running", "Completed", "Failed", "Crashed", "Cancelling", "Cancelled"
]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Health(_Answer):
    status: Literal["ok"]
    version: str
    store: Literal["sqlite", "postgresql"]


class Deployment(_Answer):
    name: str
    flow: str = Field(description="The flow's entrypoint, path/to/file.py:function.")
    flow_name: str
    working_dir: str | None
    parameters: dict[str, Any]
    infrastructure: dict[str, Any] = Field(description="Resolved, secrets masked.")
    work_queue: str
    schedule: str | None = Field(description="The schedule, described; null: none.")
    tags: list[str]
    description: str
    version: str | None
    retries: int
    retry_delay_seconds: float
    created: datetime | None
    updated: datetime | None


class FlowRun(_Answer):
    id: str
    deployment: str
    flow: str
    state: StateName
    message: str
    work_queue: str
    scheduled_time: datetime
    created: datetime
    start_time: datetime | None
    end_time: datetime | None
    attempt: int
    retries: int
    identifier: str | None = Field(description="Where it runs: host:pid, container, Job.")
    exit_code: int | None
    agent: str | None
    parameters: dict[str, Any]
    overrides: dict[str, Any]
    infrastructure: dict[str, Any]
    working_dir: str | None


class StateEntry(_Answer):
    state: StateName
    timestamp: datetime
    attempt: int
    message: str
    agent: str | None
    identifier: str | None


class FlowRunWithHistory(FlowRun):
    history: list[StateEntry] = Field(description="Every state it went through, oldest first.")


class RunsPage(_Answer):
    runs: list[FlowRun]
    next_cursor: str | None = Field(description="The cursor of the next page; null: the last.")


class LogLine(_Answer):
    seq: int
    timestamp: datetime
    stream: Literal["stdout", "stderr", "shipway"]
    attempt: int
    level: str | None = Field(
        description="A run logger record's level (INFO, WARNING, ...); null for output."
    )
    source: str = Field(description="The flow or task a run logger record came from.")
    text: str


class Logs(_Answer):
    flow_run_id: str
    lines: list[LogLine]
    next_after: int = Field(description="Pass it as `after` to read on.")
    state: StateName
    final: bool = Field(description="The run has ended: no line will follow.")


class Agent(_Answer):
    id: str
    name: str
    queues: list[str]
    limit: int | None
    infrastructure_types: list[str] | None
    started: datetime
    last_heartbeat: datetime
    stopped: datetime | None
    alive: bool
    active_runs: int


class WorkQueue(_Answer):
    name: str
    concurrency_limit: int | None
    active_runs: int
    scheduled_runs: int


class Plugin(_Answer):
    name: str
    kind: str
    distribution: str
    version: str
    module: str
    status: str
    error: str | None
    hooks: list[str]
    class_name: str | None
    schema_: dict[str, Any] | None = Field(
        alias="schema", description="An infrastructure type's JSON schema."
    )
