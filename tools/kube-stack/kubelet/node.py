"""The one Node this kubelet offers: registered at start, kept Ready by a heartbeat
(status + Lease) so the control plane and the tests see a live node."""

from __future__ import annotations

import datetime
import logging
import threading

from kubernetes import client
from kubernetes.client.exceptions import ApiException

log = logging.getLogger("kubelet.node")

CAPACITY = {"cpu": "2", "memory": "4Gi", "pods": "20", "ephemeral-storage": "20Gi"}
HEARTBEAT_SECONDS = 10


def labels(node_name: str) -> dict[str, str]:
    return {
        "kubernetes.io/hostname": node_name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
    }


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _status(node_name: str, port: int) -> client.V1NodeStatus:
    now = _now()
    return client.V1NodeStatus(
        capacity=CAPACITY,
        allocatable=CAPACITY,
        addresses=[
            client.V1NodeAddress(type="InternalIP", address="127.0.0.1"),
            client.V1NodeAddress(type="Hostname", address=node_name),
        ],
        daemon_endpoints=client.V1NodeDaemonEndpoints(
            kubelet_endpoint=client.V1DaemonEndpoint(port=port)
        ),
        conditions=[
            client.V1NodeCondition(
                type="Ready",
                status="True",
                reason="KubeletReady",
                message="shipway test kubelet is posting ready status",
                last_heartbeat_time=now,
                last_transition_time=now,
            )
        ],
        node_info=client.V1NodeSystemInfo(
            architecture="amd64",
            boot_id="",
            container_runtime_version="docker://local",
            kernel_version="",
            kube_proxy_version="",
            kubelet_version="v1.20.2-shipway-test",
            machine_id="",
            operating_system="linux",
            os_image="shipway test kubelet",
            system_uuid="",
        ),
    )


def register(core: client.CoreV1Api, node_name: str, port: int) -> None:
    node = client.V1Node(
        metadata=client.V1ObjectMeta(name=node_name, labels=labels(node_name)),
        spec=client.V1NodeSpec(),
    )
    try:
        core.create_node(node)
    except ApiException as exc:
        if exc.status != 409:
            raise
    core.patch_node_status(
        node_name, {"status": core.api_client.sanitize_for_serialization(_status(node_name, port))}
    )


def heartbeat(
    core: client.CoreV1Api,
    coordination: client.CoordinationV1Api,
    node_name: str,
    port: int,
    stopping: threading.Event,
) -> None:
    """Refresh the Ready condition and the node Lease until ``stopping`` is set."""
    while not stopping.wait(HEARTBEAT_SECONDS):
        try:
            register(core, node_name, port)
            _renew_lease(coordination, node_name)
        except Exception as exc:
            log.warning("node heartbeat failed: %s", exc)


def _renew_lease(coordination: client.CoordinationV1Api, node_name: str) -> None:
    spec = client.V1LeaseSpec(
        holder_identity=node_name, lease_duration_seconds=40, renew_time=_now()
    )
    try:
        coordination.patch_namespaced_lease(node_name, "kube-node-lease", {"spec": spec})
    except ApiException as exc:
        if exc.status != 404:
            raise
        coordination.create_namespaced_lease(
            "kube-node-lease",
            client.V1Lease(metadata=client.V1ObjectMeta(name=node_name), spec=spec),
        )
