"""The Job's life on the cluster: create, read, list its events, delete.

Each function blocks (the official client is synchronous); the infrastructure runs them
in worker threads. API failures become InfrastructureErrors that say what was being done.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shipway.infrastructure import InfrastructureError, InfrastructureNotFound
from shipway_kubernetes._cluster import Cluster, api_errors, retry_transient
from shipway_kubernetes._manifest import pod_selector

if TYPE_CHECKING:
    from kubernetes.client import V1Job

__all__ = [
    "as_model",
    "create_job",
    "create_secret",
    "delete_job",
    "delete_or_warn",
    "list_events",
    "read_job",
    "read_pods",
]

PROPAGATION = "Background"
"""Delete a Job's pods with it. The API's default for Jobs (``orphan``, kept for
backward compatibility) would leave the pod running after its Job is gone."""


def create_job(cluster: Cluster, manifest: dict[str, Any]) -> dict[str, Any]:
    namespace = manifest["metadata"]["namespace"]
    from kubernetes.client.exceptions import ApiException

    name = manifest["metadata"]["name"]
    body = as_model(manifest, cluster.as_dict)
    attempts = 0

    def create() -> Any:
        nonlocal attempts
        attempts += 1
        try:
            return cluster.batch().create_namespaced_job(namespace, body, _request_timeout=60)
        except ApiException as exc:
            # A retry after an answer that got lost: our first request did create it.
            if exc.status == 409 and attempts > 1:
                return cluster.batch().read_namespaced_job(name, namespace, _request_timeout=30)
            raise

    with api_errors(cluster.server, f"creating Job {name} in namespace {namespace}"):
        created = retry_transient(create)
    job: dict[str, Any] = cluster.as_dict(created)
    return job


def create_secret(cluster: Cluster, manifest: dict[str, Any]) -> None:
    """Create a Secret (a large job's, see _handover.py); one that our own earlier
    attempt created before its answer got lost is fine."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    namespace = manifest["metadata"]["namespace"]
    name = manifest["metadata"]["name"]
    body = client.V1Secret.from_dict(manifest)
    assert body is not None
    attempts = 0

    def create() -> None:
        nonlocal attempts
        attempts += 1
        try:
            cluster.core().create_namespaced_secret(namespace, body, _request_timeout=60)
        except ApiException as exc:
            if not (exc.status == 409 and attempts > 1):
                raise

    with api_errors(cluster.server, f"creating Secret {name} in namespace {namespace}"):
        retry_transient(create)


def as_model(manifest: dict[str, Any], to_dict: Callable[[Any], Any]) -> V1Job:
    """The manifest as the client's model; a key the model does not know (a typo in a
    base manifest or a patch, which the client would silently drop) is an error."""
    from kubernetes import client

    try:
        model = client.V1Job.from_dict(manifest)
    except ValueError as exc:
        raise InfrastructureError(f"the Job manifest is not valid: {exc}") from None
    assert model is not None
    dropped = _dropped_keys(manifest, to_dict(model))
    if dropped:
        raise InfrastructureError(
            f"the Job manifest has fields Kubernetes does not know: {', '.join(dropped)}",
            hint="Check the spelling in the job field and the customizations "
            "(`preview` shows the Job).",
        )
    return model


def _dropped_keys(original: Any, kept: Any, path: str = "") -> list[str]:
    if isinstance(original, dict) and isinstance(kept, dict):
        dropped = []
        for key, value in original.items():
            where = f"{path}.{key}" if path else str(key)
            if key not in kept:
                if value is not None:
                    dropped.append(where)
            else:
                dropped.extend(_dropped_keys(value, kept[key], where))
        return dropped
    if isinstance(original, list) and isinstance(kept, list):
        return [
            found
            for index, (a, b) in enumerate(zip(original, kept, strict=False))
            for found in _dropped_keys(a, b, f"{path}[{index}]")
        ]
    return []


def read_job(cluster: Cluster, namespace: str, name: str) -> dict[str, Any]:
    """The Job as the API spells it; InfrastructureNotFound when it is gone."""
    from kubernetes.client.exceptions import ApiException

    with api_errors(cluster.server, f"reading Job {name} in namespace {namespace}"):
        try:
            job = retry_transient(
                lambda: cluster.batch().read_namespaced_job(name, namespace, _request_timeout=30)
            )
        except ApiException as exc:
            if exc.status == 404 and "namespaces" not in str(exc.body or ""):
                raise InfrastructureNotFound(
                    f"Job {name} is not in namespace {namespace}: the flow run has ended "
                    "and its Job was deleted"
                ) from None
            raise
    found: dict[str, Any] = cluster.as_dict(job)
    return found


def read_pods(cluster: Cluster, namespace: str, job_name: str) -> list[dict[str, Any]]:
    with api_errors(cluster.server, f"listing the pods of Job {job_name}"):
        pods = retry_transient(
            lambda: cluster.core().list_namespaced_pod(
                namespace, label_selector=pod_selector(job_name), _request_timeout=30
            )
        )
    found: list[dict[str, Any]] = cluster.as_dict(pods.items)
    return found


def list_events(cluster: Cluster, namespace: str, kind: str, name: str) -> list[dict[str, Any]]:
    """The events about one object (``kubectl describe``'s Events section)."""
    with api_errors(cluster.server, f"reading the events of {kind} {name}"):
        events = retry_transient(
            lambda: cluster.core().list_namespaced_event(
                namespace,
                field_selector=f"involvedObject.kind={kind},involvedObject.name={name}",
                _request_timeout=30,
            )
        )
    found: list[dict[str, Any]] = cluster.as_dict(events.items)
    return found


def delete_job(cluster: Cluster, namespace: str, name: str, grace_seconds: int) -> None:
    """Delete the Job and its pods, giving the pods ``grace_seconds`` after SIGTERM.

    The pods are deleted by us with that grace (the garbage collector would use each
    pod's own terminationGracePeriodSeconds); the Job with an explicit propagation policy.
    InfrastructureNotFound when the Job is already gone.
    """
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    with api_errors(cluster.server, f"deleting Job {name} in namespace {namespace}"):
        try:
            retry_transient(
                lambda: cluster.batch().delete_namespaced_job(
                    name,
                    namespace,
                    body=client.V1DeleteOptions(
                        propagation_policy=PROPAGATION, grace_period_seconds=grace_seconds
                    ),
                    _request_timeout=30,
                )
            )
        except ApiException as exc:
            if exc.status == 404:
                raise InfrastructureNotFound(
                    f"Job {name} is not in namespace {namespace}: the flow run has ended "
                    "and its Job was deleted"
                ) from None
            raise
        core = cluster.core()
        for pod in core.list_namespaced_pod(
            namespace, label_selector=pod_selector(name), _request_timeout=30
        ).items:
            if pod.metadata is None or not pod.metadata.name:
                continue
            try:
                core.delete_namespaced_pod(
                    pod.metadata.name,
                    namespace,
                    body=client.V1DeleteOptions(grace_period_seconds=grace_seconds),
                    _request_timeout=30,
                )
            except ApiException as exc:
                if exc.status != 404:
                    raise


def delete_or_warn(cluster: Cluster, namespace: str, name: str, grace_seconds: int) -> None:
    """Delete the Job; the run's outcome matters more than a failed clean-up."""
    try:
        delete_job(cluster, namespace, name, grace_seconds)
    except InfrastructureNotFound:
        pass
    except InfrastructureError as exc:
        print(
            f"shipway-kubernetes: {exc.message} (delete it with "
            f"`kubectl delete job {name} -n {namespace}`)",
            file=sys.stderr,
            flush=True,
        )
