"""The plain values the store hands out and takes in (no database types leak out).

``DeploymentSpec`` is defined with the deployments (a file's deployment becomes one
without a database); it is re-exported here for the store's callers."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Literal

from shipway.deployments import DeploymentSpec, RunRequest
from shipway.states import StateType

__all__ = [
    "AgentRecord",
    "DeploymentRecord",
    "DeploymentSpec",
    "FlowRunRecord",
    "LogLine",
    "StateRecord",
    "StoredLogLine",
    "WorkQueueRecord",
]

LogStream = Literal["stdout", "stderr", "shipway"]


@dataclasses.dataclass(frozen=True)
class DeploymentRecord(DeploymentSpec):
    id: str = ""
    created: datetime | None = None
    updated: datetime | None = None

    def spec(self) -> DeploymentSpec:
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(DeploymentSpec)}
        return DeploymentSpec(**fields)


@dataclasses.dataclass(frozen=True)
class FlowRunRecord:
    id: str
    deployment_id: str
    deployment_name: str
    flow_name: str
    entrypoint: str
    working_dir: str | None
    parameters: dict[str, Any]
    overrides: dict[str, Any]
    infrastructure: dict[str, Any]
    work_queue: str
    state: StateType
    state_message: str
    scheduled_time: datetime
    created: datetime
    start_time: datetime | None
    end_time: datetime | None
    agent_id: str | None
    identifier: str | None
    exit_code: int | None
    attempt: int
    retries: int
    retry_delay_seconds: float
    auto_scheduled: bool = False
    lease_expires: datetime | None = None
    """Until when its agent may write its state, unless it renews the lease."""
    storage: dict[str, Any] | None = None
    """The deployment's storage block when the run was created (None: no storage)."""
    storage_ref: str | None = None
    """The content ref the run pulls from ``storage``."""

    def run_request(self) -> RunRequest:
        """This run as ``shipway.deployments.resolve_run`` takes it: the deployment's
        infrastructure under the run's overrides, with the run's id and parameters."""
        return RunRequest(
            deployment_name=self.deployment_name,
            entrypoint=self.entrypoint,
            flow_name=self.flow_name,
            working_dir=self.working_dir,
            infrastructure=self.infrastructure,
            overrides=(self.overrides or {},),
            parameters=self.parameters,
            flow_run_id=self.id,
            storage=self.storage,
            storage_ref=self.storage_ref,
        )


@dataclasses.dataclass(frozen=True)
class StateRecord:
    type: StateType
    message: str
    timestamp: datetime
    attempt: int
    agent_id: str | None
    identifier: str | None


@dataclasses.dataclass(frozen=True)
class LogLine:
    timestamp: datetime
    stream: LogStream
    text: str
    attempt: int = 1
    level: int | None = None
    """A run logger record's level (logging's numbers: 30 is WARNING); None for output."""
    source: str = ""
    """The flow or task a run logger record came from; empty for output."""


@dataclasses.dataclass(frozen=True)
class StoredLogLine(LogLine):
    seq: int = 0


@dataclasses.dataclass(frozen=True)
class AgentRecord:
    id: str
    name: str
    queues: tuple[str, ...]
    limit: int | None
    started: datetime
    last_heartbeat: datetime
    stopped: datetime | None
    infrastructure_types: tuple[str, ...] | None = None
    """The types whose runs it claims; None for an agent of an older shipway (all)."""


@dataclasses.dataclass(frozen=True)
class WorkQueueRecord:
    name: str
    concurrency_limit: int | None
    active_runs: int = 0
    scheduled_runs: int = 0
