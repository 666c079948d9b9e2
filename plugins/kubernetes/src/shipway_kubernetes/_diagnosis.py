"""Read a pod's and a Job's status the way a person at ``kubectl describe`` would.

Pure functions over objects as the API spells them (dicts): what state the flow's
container is in, and, when the run cannot go on, why, in one line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "CANNOT_PULL",
    "ContainerEnd",
    "Verdict",
    "container_end",
    "container_started",
    "describe_events",
    "job_verdict",
    "pod_verdict",
]

CANNOT_PULL = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName"}
)
_CANNOT_CREATE = frozenset({"CreateContainerConfigError", "CreateContainerError"})


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The run cannot go on: ``reason`` says why; ``started`` is False when the flow's
    container never ran (the run could not start) and True when it ended badly."""

    reason: str
    started: bool


@dataclasses.dataclass(frozen=True)
class ContainerEnd:
    exit_code: int
    reason: str | None


def _flow_container_status(pod: Mapping[str, Any], container: str) -> Mapping[str, Any]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    for status in statuses:
        if status.get("name") == container:
            return dict(status)
    return {}


def container_started(pod: Mapping[str, Any], container: str) -> bool:
    """The container runs or has run: its logs can be read."""
    state = _flow_container_status(pod, container).get("state") or {}
    return bool(state.get("running") or state.get("terminated"))


def container_end(
    pod: Mapping[str, Any], container: str, memory_limit: str | None = None
) -> ContainerEnd | None:
    """How the flow's container ended, once it has (None while it runs)."""
    state = _flow_container_status(pod, container).get("state") or {}
    terminated = state.get("terminated")
    if not terminated:
        return None
    code = int(terminated.get("exitCode", 1))
    reason = terminated.get("reason")
    if reason == "OOMKilled":
        limit = f" (memory_limit {memory_limit})" if memory_limit else ""
        return ContainerEnd(code, f"OOMKilled: the container ran out of memory{limit}")
    if reason in (None, "Completed", "Error"):
        return ContainerEnd(code, None)
    message = terminated.get("message")
    return ContainerEnd(code, f"{reason}: {message}" if message else str(reason))


def pod_verdict(pod: Mapping[str, Any], container: str) -> Verdict | None:
    """Why this pod will not run the flow to its end, when that is already certain."""
    status = pod.get("status") or {}
    if status.get("reason") == "Evicted" or (
        status.get("phase") == "Failed" and not container_end(pod, container)
    ):
        text = status.get("message") or "the pod failed"
        reason = status.get("reason") or "Failed"
        return Verdict(f"{reason}: {text}", started=container_started(pod, container))
    waiting = (_flow_container_status(pod, container).get("state") or {}).get("waiting") or {}
    why = waiting.get("reason")
    if why in CANNOT_PULL:
        image = _flow_container_status(pod, container).get("image") or "the image"
        message = waiting.get("message") or ""
        return Verdict(
            f"{why}: cannot pull {image}" + (f": {message}" if message else ""), started=False
        )
    if why in _CANNOT_CREATE:
        return Verdict(f"{why}: {waiting.get('message') or ''}".rstrip(": "), started=False)
    return None


def unschedulable(pod: Mapping[str, Any]) -> str | None:
    """The scheduler's reason when it could not place the pod (it may still, later)."""
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if (
            condition.get("type") == "PodScheduled"
            and condition.get("status") == "False"
            and condition.get("reason") == "Unschedulable"
        ):
            return f"Unschedulable: {condition.get('message') or 'no node fits the pod'}"
    return None


def job_verdict(job: Mapping[str, Any]) -> str | None:
    """The Job controller's reason when it gave up on the Job (BackoffLimitExceeded,
    DeadlineExceeded), else None."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Failed" and condition.get("status") == "True":
            reason = condition.get("reason") or "Failed"
            message = condition.get("message")
            return f"{reason}: {message}" if message else str(reason)
    return None


def job_finished(job: Mapping[str, Any]) -> bool:
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            return True
    return False


def failed_create(events: Iterable[Mapping[str, Any]]) -> str | None:
    """The Job controller could not create the pod (a missing service account, a quota):
    its FailedCreate event's message."""
    for event in events:
        if event.get("reason") == "FailedCreate":
            return f"FailedCreate: {event.get('message') or 'the pod could not be created'}"
    return None


def describe_events(events: Iterable[Mapping[str, Any]]) -> list[str]:
    """``Warning  FailedScheduling  pod/x  0/1 nodes are available...``, oldest first,
    one line each (what ``kubectl describe`` shows under Events)."""

    def when(event: Mapping[str, Any]) -> str:
        return str(
            event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp")
            or ""
        )

    lines = []
    for event in sorted(events, key=when):
        involved = event.get("involvedObject") or {}
        what = f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '?')}"
        count = event.get("count") or 1
        times = f" (x{count})" if count > 1 else ""
        lines.append(
            f"{event.get('type', 'Normal'):<8} {event.get('reason', ''):<18} {what}: "
            f"{str(event.get('message', '')).strip()}{times}"
        )
    return lines
