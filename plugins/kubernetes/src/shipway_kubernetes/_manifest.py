"""What one Job will be: everything ``run`` creates and ``preview`` prints.

Building it is pure (no API calls), so the preview is exactly what a run sends. The
order is fixed: the base ``job`` manifest, then the fields, then the ``customizations``
(RFC 6902 patches, applied last so they can change anything), then a structural check.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from shipway.infrastructure import Job, SecretRef, run_labels
from shipway_kubernetes._fields import env_entry, label_value
from shipway_kubernetes._handover import mount_job_secret

__all__ = [
    "CONTAINER_NAME",
    "LABEL_PREFIX",
    "RUN_LABEL",
    "JobSettings",
    "ManifestError",
    "apply_customizations",
    "build_manifest",
    "check_patches",
    "describe_patch",
    "manifest_problems",
    "pod_selector",
    "shipway_labels",
]

LABEL_PREFIX = "shipway.io/"
"""Kubernetes' convention for the run's labels (``shipway.io/flow-run-id``...)."""
RUN_LABEL = f"{LABEL_PREFIX}run"
"""The plugin's own label: the Job's name, on the Job and its pods; pods are found by it."""
CONTAINER_NAME = "shipway"


class ManifestError(ValueError):
    """The manifest cannot be built or is not a valid Job; the message says where."""


@dataclasses.dataclass(frozen=True)
class JobSettings:
    """The field values that go into the manifest, already checked."""

    job_name: str
    namespace: str
    image: str
    command: list[str]
    env: Mapping[str, str | SecretRef | dict[str, Any] | None]
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    image_pull_policy: str | None = None
    service_account_name: str | None = None
    backoff_limit: int | None = None
    finished_job_ttl: int | None = None
    resources: Mapping[str, Mapping[str, str]] = dataclasses.field(default_factory=dict)
    job_secret: str | None = None
    """The Secret holding a job too large for the environment (see _handover.py)."""


def pod_selector(job_name: str) -> str:
    return f"{RUN_LABEL}={job_name}"


def shipway_labels(job_name: str, job: Job) -> dict[str, str]:
    """The labels that tie a Job and its pod to one run: the plugin's own, then the run's
    (from the core), with values made valid label values."""
    labels = {
        RUN_LABEL: job_name,
        **{key: label_value(value) for key, value in run_labels(job, LABEL_PREFIX).items()},
    }
    return {key: value for key, value in labels.items() if value}


def build_manifest(base: Mapping[str, Any] | None, settings: JobSettings) -> dict[str, Any]:
    """The Job manifest: ``base`` (copied, never changed) with the settings laid over it.

    The first container of the base is the flow's container (one named ``shipway`` is
    added when there is none); its other containers (sidecars) are left as they are.
    """
    manifest: dict[str, Any] = copy.deepcopy(dict(base or {}))
    manifest["apiVersion"] = "batch/v1"
    manifest["kind"] = "Job"
    metadata = _mapping(manifest, "metadata", "metadata")
    metadata.pop("generateName", None)
    metadata["name"] = settings.job_name
    metadata["namespace"] = settings.namespace
    metadata["labels"] = {**_mapping(metadata, "labels", "metadata.labels"), **settings.labels}
    if settings.annotations:
        annotations = _mapping(metadata, "annotations", "metadata.annotations")
        metadata["annotations"] = {**annotations, **settings.annotations}

    spec = _mapping(manifest, "spec", "spec")
    if settings.backoff_limit is not None or "backoffLimit" not in spec:
        spec["backoffLimit"] = settings.backoff_limit or 0
    if settings.finished_job_ttl is not None:
        spec["ttlSecondsAfterFinished"] = settings.finished_job_ttl
    template = _mapping(spec, "template", "spec.template")
    template_metadata = _mapping(template, "metadata", "spec.template.metadata")
    template_metadata["labels"] = {
        **_mapping(template_metadata, "labels", "spec.template.metadata.labels"),
        **settings.labels,
    }
    if settings.annotations:
        pod_annotations = _mapping(
            template_metadata, "annotations", "spec.template.metadata.annotations"
        )
        template_metadata["annotations"] = {**pod_annotations, **settings.annotations}
    pod = _mapping(template, "spec", "spec.template.spec")
    pod["restartPolicy"] = "Never"
    if settings.service_account_name:
        pod["serviceAccountName"] = settings.service_account_name
    containers = pod.setdefault("containers", [])
    if not isinstance(containers, list):
        raise ManifestError("job: spec.template.spec.containers must be a list")
    if not containers:
        containers.append({"name": CONTAINER_NAME})
    if not isinstance(containers[0], dict):
        raise ManifestError("job: spec.template.spec.containers[0] must be a mapping")
    _fill_container(containers[0], settings)
    if settings.job_secret:
        try:
            mount_job_secret(pod, containers[0], settings.job_secret)
        except ValueError as exc:
            raise ManifestError(str(exc)) from None
    return manifest


def _fill_container(container: dict[str, Any], settings: JobSettings) -> None:
    container.setdefault("name", CONTAINER_NAME)
    container["image"] = settings.image
    container["command"] = list(settings.command)
    container.pop("args", None)  # the command is complete; a base's args would be appended
    if settings.image_pull_policy:
        container["imagePullPolicy"] = settings.image_pull_policy
    env = container.get("env") or []
    if not isinstance(env, list):
        raise ManifestError("job: the container's env must be a list of {name, value} items")
    ours = {name for name in settings.env}
    merged = [item for item in env if not (isinstance(item, dict) and item.get("name") in ours)]
    merged.extend(
        env_entry(name, value) for name, value in settings.env.items() if value is not None
    )
    container["env"] = merged
    if settings.resources:
        resources = _mapping(container, "resources", "the container's resources")
        for kind, values in settings.resources.items():
            resources[kind] = {**_mapping(resources, kind, f"resources.{kind}"), **values}


def _mapping(parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    """``parent[key]``, created empty when missing; a non-mapping is the user's mistake."""
    value = parent.get(key)
    if value is None:
        value = parent[key] = {}
    if not isinstance(value, dict):
        raise ManifestError(f"job: {where} must be a mapping, not {type(value).__name__}")
    return value


def apply_customizations(
    manifest: dict[str, Any], patches: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Apply the RFC 6902 patches one by one, checking the Job after each, so that an
    error names the patch that broke it (``customizations[2] (replace /spec/...)``)."""
    import jsonpatch
    import jsonpointer

    result = manifest
    for index, patch in enumerate(patches):
        where = f"customizations[{index}] ({describe_patch(patch)})"
        try:
            result = jsonpatch.apply_patch(result, [dict(patch)])
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
            raise ManifestError(f"{where} cannot be applied: {exc}") from None
        problems = manifest_problems(result)
        if problems:
            raise ManifestError(
                f"{where} makes the Job invalid: {'; '.join(problems)}"
            )
    return result


def describe_patch(patch: Mapping[str, Any]) -> str:
    return f"{patch.get('op', '?')} {patch.get('path', '?')}"


def check_patches(value: Any) -> list[dict[str, Any]]:
    """``customizations`` as a list of RFC 6902 operations (a JSON string is accepted),
    each well-formed; raise ValueError naming the first bad one."""
    import jsonpatch

    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"customizations is not valid JSON: {exc}") from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise ValueError("customizations must be a list of JSON patch operations")
    for index, patch in enumerate(value):
        if not isinstance(patch, dict):
            raise ValueError(f"customizations[{index}] must be a mapping with op and path")
        try:
            jsonpatch.JsonPatch([patch])  # checks each operation's shape
        except (jsonpatch.JsonPatchException, jsonpatch.InvalidJsonPatch, KeyError) as exc:
            raise ValueError(
                f"customizations[{index}] ({describe_patch(patch)}) is not a JSON patch "
                f"operation: {exc}. Use e.g. "
                '{"op": "add", "path": "/spec/activeDeadlineSeconds", "value": 3600}'
            ) from None
    return value


_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$")


def manifest_problems(manifest: Any) -> list[str]:
    """What makes ``manifest`` something the API server would refuse as a Job.

    A structural check (the shapes and names a Job needs), not the full schema: the
    tests hold every manifest to the official schemas, strictly.
    """
    if not isinstance(manifest, dict):
        return ["the manifest is not a mapping"]
    problems: list[str] = []
    if manifest.get("apiVersion") != "batch/v1" or manifest.get("kind") != "Job":
        problems.append("apiVersion/kind must stay batch/v1 Job")
    metadata = manifest.get("metadata")
    if not isinstance(metadata, dict):
        return [*problems, "metadata must be a mapping"]
    name = metadata.get("name")
    if not isinstance(name, str) or not _DNS_LABEL.match(name):
        problems.append(f"metadata.name {name!r} is not a DNS-1123 label of at most 63 characters")
    problems.extend(_label_problems(metadata, "metadata"))
    spec = manifest.get("spec")
    template = spec.get("template") if isinstance(spec, dict) else None
    pod = template.get("spec") if isinstance(template, dict) else None
    if not isinstance(pod, dict):
        return [*problems, "spec.template.spec must be a mapping"]
    if isinstance(template, dict) and isinstance(template.get("metadata"), dict):
        problems.extend(_label_problems(template["metadata"], "spec.template.metadata"))
    if pod.get("restartPolicy") not in ("Never", "OnFailure"):
        problems.append("spec.template.spec.restartPolicy must be Never or OnFailure for a Job")
    containers = pod.get("containers")
    if not isinstance(containers, list) or not containers:
        return [*problems, "spec.template.spec.containers must be a non-empty list"]
    for index, container in enumerate(containers):
        where = f"spec.template.spec.containers[{index}]"
        if not isinstance(container, dict):
            problems.append(f"{where} must be a mapping")
            continue
        if not isinstance(container.get("name"), str) or not _DNS_LABEL.match(container["name"]):
            problems.append(f"{where}.name must be a DNS-1123 label")
        if not isinstance(container.get("image"), str) or not container["image"]:
            problems.append(f"{where}.image must name an image")
        for key in ("command", "args"):
            value = container.get(key)
            if value is not None and not (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            ):
                problems.append(f"{where}.{key} must be a list of strings")
        env = container.get("env", [])
        if not isinstance(env, list) or not all(
            isinstance(e, dict) and isinstance(e.get("name"), str) for e in env
        ):
            problems.append(f"{where}.env must be a list of items with a name")
    return problems


def _label_problems(metadata: dict[str, Any], where: str) -> list[str]:
    problems = []
    labels = metadata.get("labels", {})
    if not isinstance(labels, dict):
        return [f"{where}.labels must be a mapping"]
    for key, value in labels.items():
        prefix, _, name = str(key).rpartition("/")
        if not _LABEL_NAME.match(name) or (prefix and not _DNS_SUBDOMAIN.match(prefix)):
            problems.append(f"{where}.labels: {key!r} is not a valid label name")
        if not isinstance(value, str) or not _LABEL_VALUE.match(value):
            problems.append(
                f"{where}.labels[{key!r}]: {value!r} is not a valid label value "
                "(at most 63 of A-Z a-z 0-9 - _ ., starting and ending alphanumeric)"
            )
    annotations = metadata.get("annotations", {})
    if not isinstance(annotations, dict) or not all(
        isinstance(v, str) for v in annotations.values()
    ):
        problems.append(f"{where}.annotations must map names to strings")
    return problems
