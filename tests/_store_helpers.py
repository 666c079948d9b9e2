"""Small builders shared by the store tests."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from shipway.schedules import Schedule
from shipway.store import DeploymentSpec


def spec(name: str = "hello", **changes: Any) -> DeploymentSpec:
    values: dict[str, Any] = {
        "name": name,
        "entrypoint": "flows/hello.py:hello",
        "flow_name": "hello",
        "working_dir": "/srv/project",
        "parameters": {"who": "world"},
        "infrastructure": {"type": "process", "env": {"TOKEN": "s3cret"}},
    }
    values.update(changes)
    return DeploymentSpec(**values)


def scheduled_spec(name: str, schedule: Schedule, **changes: Any) -> DeploymentSpec:
    return spec(name, schedule=schedule, **changes)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)  # type: ignore[misc]  # y, m, d[, h, mi, s]
