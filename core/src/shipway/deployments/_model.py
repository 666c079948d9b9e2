from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shipway.flows import Flow
from shipway.infrastructure import Infrastructure
from shipway.names import too_long
from shipway.schedules import (
    CronSchedule,
    IntervalSchedule,
    Schedule,
    describe_schedule,
    parse_duration,
    validate_schedule,
)
from shipway.storage import Storage

__all__ = ["Deployment", "DeploymentSchedule", "collect_deployments"]

_collector: contextvars.ContextVar[list[Deployment] | None] = contextvars.ContextVar(
    "shipway_deployment_collector", default=None
)


@contextlib.contextmanager
def collect_deployments() -> Iterator[list[Deployment]]:
    """Gather every Deployment created inside the block, assigned to a name or not,
    so a file written as ``Deployment(name=..., flow=..., infrastructure=...)`` works."""
    found: list[Deployment] = []
    token = _collector.set(found)
    try:
        yield found
    finally:
        _collector.reset(token)


def _entrypoint_of(flow: Flow[..., Any]) -> str:
    fn = flow.fn
    module = getattr(fn, "__module__", None)
    # "__main__" and the names shipway gives files it imports ("__shipway_deployments__")
    # cannot be imported by the engine: point at the file instead.
    if module and not module.startswith("__"):
        return f"{module}:{fn.__qualname__}"
    return f"{fn.__code__.co_filename}:{fn.__qualname__}"


class DeploymentSchedule(BaseModel):
    """When agents run the deployment by themselves: ``cron`` (with ``timezone``) or
    ``interval`` (seconds or text like ``1h30m``, counted from ``anchor``)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    cron: str | None = Field(
        default=None, description="A cron expression, e.g. '0 * * * *' (every hour)."
    )
    timezone: str = Field(
        default="UTC", description="The IANA time zone the cron expression is read in."
    )
    interval: timedelta | None = Field(
        default=None, description="Seconds between runs, or text such as '1h30m', '45s', '2d'."
    )
    anchor: datetime | None = Field(
        default=None,
        description="Runs happen at anchor + k * interval (default: 1970-01-01T00:00:00Z).",
    )

    @field_validator("interval", mode="before")
    @classmethod
    def _parse_interval(cls, value: Any) -> Any:
        if value is None or isinstance(value, timedelta):
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError("must be seconds or text such as '1h30m'")
        return parse_duration(value)

    @field_validator("anchor")
    @classmethod
    def _aware_anchor(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a time zone, e.g. 2026-01-01T00:00:00Z")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> DeploymentSchedule:
        if (self.cron is None) == (self.interval is None):
            raise ValueError("give either 'cron' or 'interval' (not both, not neither)")
        if self.cron is None and self.timezone != "UTC":
            raise ValueError("'timezone' goes with 'cron'; an interval is counted from 'anchor'")
        if self.interval is None and self.anchor is not None:
            raise ValueError("'anchor' goes with 'interval'")
        validate_schedule(self.to_schedule())
        return self

    def to_schedule(self) -> Schedule:
        """The plain value the store keeps and the agents fire on."""
        if self.cron is not None:
            return CronSchedule(cron=self.cron, timezone=self.timezone)
        assert self.interval is not None
        return IntervalSchedule(interval=self.interval, anchor=self.anchor)

    def describe(self) -> str:
        return describe_schedule(self.to_schedule())


class Deployment(BaseModel):
    """A named, reusable way to run a flow: which flow, with what parameters, where.

    ``infrastructure`` is an :class:`Infrastructure` instance, a type name
    (``"process"``), the name of a block from the file's ``infrastructure:`` section,
    or a mapping with a ``type`` key. ``overrides`` are applied on top of it.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, defer_build=True)

    name: str = Field(
        min_length=1,
        description="The name `shipway run NAME` selects.",
    )
    flow: str = Field(
        description="The flow's entrypoint, 'path/to/file.py:function' or "
        "'package.module:function' "
        "(in Python, the @flow function itself).",
    )
    parameters: dict[str, Any] = Field(default_factory=dict, description="Default parameters.")
    infrastructure: Any = Field(
        default="process",
        description="A type name, a block name from this file, a mapping with 'type', "
        "or an Infrastructure instance.",
    )
    storage: Any = Field(
        default=None,
        description="Where runs get the code: a storage type name, a block name from this "
        "file's 'storage:' section, a mapping with 'type', or a Storage instance. "
        "None: the code is read in the project directory where the run executes.",
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="Fields set on top of the infrastructure; env and labels merge key by "
        "key; a 'storage' mapping is set on top of the storage.",
    )
    tags: list[str] = Field(
        default_factory=list, description="Free-form tags, shown by `shipway deployment ls`."
    )
    description: str | None = Field(default=None, description="Free text about the deployment.")
    version: str | None = Field(
        default=None,
        description="Free text: the deployment's version.",
    )
    path: str | None = Field(
        default=None,
        description="The project directory entrypoints are relative to; "
        "default: the directory of the file defining the deployment.",
    )
    work_queue: str = Field(
        default="default",
        min_length=1,
        description="The work queue agents take this deployment's runs from.",
    )
    schedule: DeploymentSchedule | None = Field(
        default=None,
        description="Run by itself: {cron: '0 * * * *', timezone: Europe/Paris} "
        "or {interval: 1h30m}. Needs `shipway deployment apply` and an agent.",
    )
    retries: int = Field(
        default=0, ge=0, description="How many times an agent retries a failed or crashed run."
    )
    retry_delay_seconds: float = Field(
        default=0.0, ge=0, description="Seconds an agent waits before each retry."
    )

    _flow_object: Flow[..., Any] | None = PrivateAttr(default=None)

    @field_validator("flow", mode="before")
    @classmethod
    def _flow_to_entrypoint(cls, value: Any) -> Any:
        if isinstance(value, Flow):
            return _entrypoint_of(value)
        if callable(value) and hasattr(value, "__code__"):
            return _entrypoint_of(Flow(value))
        return value

    @field_validator("flow")
    @classmethod
    def _entrypoint_has_function(cls, value: str) -> str:
        target, sep, attribute = value.rpartition(":")
        if not sep or not target or not attribute:
            raise ValueError(
                "must look like 'path/to/file.py:function' or 'package.module:function'"
            )
        return value

    @field_validator("name", "version", "work_queue")
    @classmethod
    def _fits_the_store(cls, value: str | None, info: ValidationInfo) -> str | None:
        what = {"name": "the deployment name", "version": "the version"}
        problem = too_long(what.get(info.field_name or "", "the work queue"), value or "")
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("infrastructure", mode="before")
    @classmethod
    def _infrastructure_shape(cls, value: Any) -> Any:
        if isinstance(value, (Infrastructure, str)):
            return value
        if isinstance(value, dict):
            if not isinstance(value.get("type"), str):
                raise ValueError("an inline infrastructure mapping needs a 'type' (e.g. process)")
            return value
        raise ValueError(
            "must be a type name, a block name, a mapping with 'type', "
            f"or an Infrastructure instance, not {type(value).__name__}"
        )

    @field_validator("storage", mode="before")
    @classmethod
    def _storage_shape(cls, value: Any) -> Any:
        if value is None or isinstance(value, (Storage, str)):
            return value
        if isinstance(value, dict):
            if not isinstance(value.get("type"), str):
                raise ValueError("an inline storage mapping needs a 'type' (e.g. git-repository)")
            return value
        raise ValueError(
            "must be a storage type name, a block name, a mapping with 'type', "
            f"or a Storage instance, not {type(value).__name__}"
        )

    def __init__(self, /, **data: Any) -> None:
        if "flow_runner" in data:  # the Prefect 2.0-beta spelling: warn and convert
            from shipway.flow_runners import replace_flow_runner

            data = replace_flow_runner(data)
        flow = data.get("flow")
        super().__init__(**data)
        if isinstance(flow, Flow):
            self._flow_object = flow
        found = _collector.get()
        if found is not None:
            found.append(self)

    @property
    def entrypoint(self) -> str:
        return self.flow

    @property
    def flow_name(self) -> str:
        if self._flow_object is not None:
            return self._flow_object.name
        return self.flow.rpartition(":")[2].rpartition(".")[2]

    def infrastructure_label(self) -> str:
        """How the infrastructure is named in listings: the type, block or class."""
        value = self.infrastructure
        if isinstance(value, Infrastructure):
            return value.type
        if isinstance(value, dict):
            return str(value.get("type"))
        return str(value)
