"""Prefect 2's YAML deployment files as shipway.yaml data: a ``deployment.yaml`` written
by ``prefect deployment build``, and a ``prefect.yaml`` project file (Prefect 2.10+).

Pure data in, data out: the caller reads the file (with the line of every key) and
writes the ``shipway.yaml``. Each thing without an equivalent becomes a note with the
line it was on and what to do."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from shipway._first_party import DOCKER_TYPE, KUBERNETES_TYPE, PROCESS_TYPE
from shipway.migrate._notes import Note
from shipway.migrate._prefect_blocks import block_mapping, env_string
from shipway.migrate._storage_notes import storage_note

__all__ = ["Converted", "convert_prefect_yaml", "prefect_yaml_kind"]

Locate = Callable[[tuple[str | int, ...]], int]


@dataclass
class Converted:
    """What goes into the shipway.yaml: named infrastructure blocks and deployments."""

    blocks: dict[str, dict[str, Any]] = field(default_factory=dict)
    deployments: list[dict[str, Any]] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


def prefect_yaml_kind(data: Any) -> str | None:
    """``"build"`` for a ``prefect deployment build`` file, ``"project"`` for a
    ``prefect.yaml``, None for anything else (a shipway.yaml included)."""
    if not isinstance(data, dict):
        return None
    if "entrypoint" in data and ({"flow_name", "infrastructure", "work_queue_name"} & set(data)):
        return "build"
    entries = data.get("deployments")
    if isinstance(entries, list) and (
        "prefect-version" in data or any(isinstance(e, dict) and "entrypoint" in e for e in entries)
    ):
        return "project"
    return None


def convert_prefect_yaml(data: dict[str, Any], locate: Locate, directory: Path) -> Converted:
    converted = Converted()
    if prefect_yaml_kind(data) == "build":
        _Build(converted, locate, directory).deployment(data)
    else:
        _Project(converted, locate, directory).project(data)
    return converted


class _Common:
    def __init__(self, converted: Converted, locate: Locate, directory: Path) -> None:
        self.converted = converted
        self.locate = locate
        self.directory = directory

    def note(self, loc: tuple[str | int, ...], message: str) -> None:
        self.converted.notes.append(Note(self.locate(loc), message))

    def common(self, data: Mapping[str, Any], loc: tuple[str | int, ...]) -> dict[str, Any]:
        """name, flow, parameters, tags, description, version, schedule."""
        deployment: dict[str, Any] = {"name": data.get("name"), "flow": data.get("entrypoint")}
        self.project_path(data.get("path"), str(data.get("entrypoint") or ""), deployment, loc)
        for key in ("parameters", "tags", "description", "version"):
            if data.get(key) not in (None, {}, []):
                deployment[key] = data[key] if key != "version" else str(data[key])
        schedules = data.get("schedules")
        if isinstance(schedules, list) and schedules:
            if len(schedules) > 1:
                self.note((*loc, "schedules"), "shipway deployments take one schedule: "
                          "the first is kept; make a deployment per other schedule")  # fmt: skip
            first = schedules[0]
            inner = first.get("schedule", first) if isinstance(first, dict) else first
            self.schedule(inner, deployment, (*loc, "schedules", 0))
        elif data.get("schedule"):
            self.schedule(data["schedule"], deployment, (*loc, "schedule"))
        active = data.get("is_schedule_active", not data.get("paused", False))
        if deployment.get("schedule") and active is False:
            self.note((*loc, "is_schedule_active"), "the schedule was paused: remove schedule: "
                      "to keep it off, or apply it to turn it on")  # fmt: skip
        return deployment

    def project_path(
        self, path: Any, entrypoint: str, deployment: dict[str, Any], loc: tuple[str | int, ...]
    ) -> None:
        """Prefect's ``path`` was where the flow's files were when it was built."""
        file = entrypoint.rpartition(":")[0]
        if not file or (self.directory / file).exists() or not isinstance(path, str):
            return
        if (Path(path) / file).exists():
            deployment["path"] = os.path.relpath(path, self.directory)
            return
        self.note((*loc, "path"), f"{file} is not beside this file (Prefect's path was "
                  f"{path}): set path: to the project directory")  # fmt: skip

    def schedule(self, value: Any, deployment: dict[str, Any], loc: tuple[str | int, ...]) -> None:
        if not isinstance(value, Mapping):
            return
        if value.get("cron"):
            schedule = {"cron": str(value["cron"])}
            if value.get("timezone"):
                schedule["timezone"] = str(value["timezone"])
            if value.get("day_or") is False:
                self.note(loc, "day_or: false has no equivalent: shipway reads cron as cron "
                          "does (day-of-month OR day-of-week)")  # fmt: skip
        elif value.get("interval") is not None:
            schedule = {"interval": value["interval"]}
            anchor = value.get("anchor_date")
            if anchor:
                schedule["anchor"] = anchor.isoformat() if isinstance(anchor, datetime) else anchor
            if value.get("timezone") not in (None, "UTC") and not anchor:
                self.note(loc, "an interval's timezone has no equivalent: give anchor: a time zone")
        else:
            self.note(loc, "this schedule (an rrule) has no shipway equivalent: write "
                      "schedule: {cron: '...', timezone: ...} or {interval: SECONDS}")  # fmt: skip
            return
        deployment["schedule"] = schedule

    def overrides(self, values: Any, loc: tuple[str | int, ...]) -> dict[str, Any]:
        """Dotted keys (``env.LOG_LEVEL``) nested; env values as the text Prefect passed."""
        nested: dict[str, Any] = {}
        for key, value in (values or {}).items():
            *parents, last = str(key).split(".")
            target = nested
            for part in parents:
                target = target.setdefault(part, {})
            target[last] = value
        if isinstance(nested.get("env"), Mapping):
            nested["env"] = {str(k): env_string(v) for k, v in nested["env"].items()}
        return nested


class _Build(_Common):
    def deployment(self, data: Mapping[str, Any]) -> None:
        deployment = self.common(data, ())
        queue = data.get("work_queue_name")
        if queue and queue != "default":
            deployment["work_queue"] = queue
        if data.get("work_pool_name"):
            self.note(("work_pool_name",), _WORK_POOLS)
        if data.get("storage"):
            self.note(("storage",), storage_note("storage"))
        infrastructure = data.get("infrastructure")
        if isinstance(infrastructure, Mapping):
            mapping, problems = block_mapping(infrastructure)
            for problem in problems:
                self.note(("infrastructure",), problem)
            if mapping is not None:
                name = infrastructure.get("_block_document_name")
                if name and not infrastructure.get("_is_anonymous", True):
                    self.converted.blocks[str(name)] = mapping
                    deployment["infrastructure"] = str(name)
                else:
                    deployment["infrastructure"] = mapping
        overrides = self.overrides(data.get("infra_overrides"), ("infra_overrides",))
        if overrides:
            deployment["overrides"] = overrides
        self.converted.deployments.append(deployment)


_WORK_POOLS = (
    "shipway has no work pools: agents take runs from work queues (work_queue:), "
    "and the pool's settings go in an infrastructure block"
)
_BUILD_STEPS = (
    "build/push steps are not run by shipway: build the image with `shipway image build` "
    "(docs/plugins/docker-images.md) or your own tooling"
)


class _Project(_Common):
    def project(self, data: Mapping[str, Any]) -> None:
        for section in ("build", "push"):
            if data.get(section):
                self.note((section,), _BUILD_STEPS)
        self.pull_steps(data.get("pull"), ("pull",))
        for index, entry in enumerate(data.get("deployments") or []):
            if isinstance(entry, Mapping):
                self.deployment(entry, ("deployments", index))

    def pull_steps(self, steps: Any, loc: tuple[str | int, ...]) -> None:
        for index, step in enumerate(steps or []):
            name = next(iter(step), "") if isinstance(step, Mapping) else str(step)
            if name.endswith("set_working_directory"):
                continue  # shipway runs the flow from the project directory anyway
            self.note((*loc, index), storage_note(f"the pull step {name}"))

    def deployment(self, data: Mapping[str, Any], loc: tuple[str | int, ...]) -> None:
        deployment = self.common(data, loc)
        for section in ("build", "push"):
            if data.get(section):
                self.note((*loc, section), _BUILD_STEPS)
        self.pull_steps(data.get("pull"), (*loc, "pull"))
        pool = data.get("work_pool") or {}
        if isinstance(pool, Mapping) and pool.get("name"):
            self.work_pool(pool, deployment, (*loc, "work_pool"))
        self.converted.deployments.append(deployment)

    def work_pool(
        self, pool: Mapping[str, Any], deployment: dict[str, Any], loc: tuple[str | int, ...]
    ) -> None:
        name = str(pool["name"])
        variables = dict(pool.get("job_variables") or {})
        type_name = _pool_type(name, variables)
        if name not in self.converted.blocks:
            self.converted.blocks[name] = {"type": type_name}
            self.note(loc, f"work pool {name!r} became the infrastructure block {name!r} of "
                      f"type {type_name} (guessed from its name and job variables) and the "
                      f"work queue its runs go to: {_WORK_POOLS}")  # fmt: skip
        deployment["infrastructure"] = name
        deployment["work_queue"] = str(pool.get("work_queue_name") or name)
        if variables:
            mapping, problems = block_mapping({**variables, "type": type_name})
            for problem in problems:
                self.note((*loc, "job_variables"), problem)
            overrides = {k: v for k, v in (mapping or {}).items() if k != "type"}
            if overrides:
                deployment["overrides"] = overrides


def _pool_type(name: str, variables: Mapping[str, Any]) -> str:
    lowered = name.lower()
    if "k8s" in lowered or "kube" in lowered or "namespace" in variables:
        return KUBERNETES_TYPE
    if "docker" in lowered or "image" in variables:
        return DOCKER_TYPE
    return PROCESS_TYPE
