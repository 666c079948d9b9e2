"""The scheduler's job for a one-node cluster: bind a pending pod to the node when its
requests fit and its nodeSelector/affinity allow, otherwise mark it Unschedulable with a
``FailedScheduling`` event worded like kube-scheduler's, so the plugin's diagnosis of
unschedulable pods is tested against what a real cluster says."""

from __future__ import annotations

import datetime
import logging
import threading
import time
from decimal import Decimal
from typing import Any

import quantity
from events import EventRecorder
from kubernetes import client
from kubernetes.client.exceptions import ApiException

log = logging.getLogger("kubelet.scheduler")
SCHEDULER = "default-scheduler"
REPEAT_EVENT_SECONDS = 60


class Scheduler:
    def __init__(
        self,
        core: client.CoreV1Api,
        events: EventRecorder,
        node_name: str,
        node_labels: dict[str, str],
        allocatable: dict[str, str],
    ) -> None:
        self.core = core
        self.events = events
        self.node_name = node_name
        self.node_labels = node_labels
        self.allocatable = {k: quantity.parse(v) for k, v in allocatable.items()}
        self._last_failure: dict[str, tuple[str, float]] = {}  # pod uid -> (message, when)
        self._used = self._usage([])
        self._lock = threading.Lock()  # simulated pods are scheduled from several threads

    def begin_pass(self, all_pods: list[Any]) -> None:
        """What the node's pods use, counted once per pass of the kubelet's loop (per pod,
        a thousand pending pods made scheduling quadratic); each bind adds to it."""
        self._used = self._usage(all_pods)

    def schedule(self, pod: Any) -> bool:
        """Bind ``pod`` or report why not; True when bound."""
        if (pod.spec.scheduler_name or SCHEDULER) != SCHEDULER:
            return False
        wanted = requests(pod)
        with self._lock:  # check and reserve together; released if the binding fails
            reasons = self._misfits(pod)
            if not reasons:
                for resource, amount in wanted.items():
                    self._used[resource] += amount
                self._used["pods"] += 1
        if reasons:
            self._unschedulable(pod, "0/1 nodes are available: " + ", ".join(reasons) + ".")
            return False
        binding = client.V1Binding(
            metadata=client.V1ObjectMeta(name=pod.metadata.name, namespace=pod.metadata.namespace),
            target=client.V1ObjectReference(kind="Node", api_version="v1", name=self.node_name),
        )
        try:
            # the generated client cannot decode the Status this returns: skip decoding
            self.core.create_namespaced_pod_binding(
                pod.metadata.name, pod.metadata.namespace, binding, _preload_content=False
            )
        except ApiException as exc:
            log.info("binding %s failed: %s", pod.metadata.name, exc.reason)
            with self._lock:
                for resource, amount in wanted.items():
                    self._used[resource] -= amount
                self._used["pods"] -= 1
            return False
        self._last_failure.pop(pod.metadata.uid, None)
        self.events.record(
            pod,
            "Normal",
            "Scheduled",
            f"Successfully assigned {pod.metadata.namespace}/{pod.metadata.name} "
            f"to {self.node_name}",
            component=SCHEDULER,
        )
        return True

    def _usage(self, all_pods: list[Any]) -> dict[str, Decimal]:
        used = {"cpu": Decimal(0), "memory": Decimal(0), "pods": Decimal(0)}
        for other in all_pods:
            if other.spec.node_name == self.node_name and other.status.phase not in (
                "Succeeded",
                "Failed",
            ):
                for resource, amount in requests(other).items():
                    used[resource] += amount
                used["pods"] += 1
        return used

    def _misfits(self, pod: Any) -> list[str]:
        reasons = []
        if not self._selector_matches(pod):
            reasons.append("1 node(s) didn't match node selector")
        used = self._used
        wanted = requests(pod)
        if used["pods"] + 1 > self.allocatable["pods"]:
            reasons.append("1 Too many pods")
        for resource in ("cpu", "memory"):
            if used[resource] + wanted.get(resource, Decimal(0)) > self.allocatable[resource]:
                reasons.append(f"1 Insufficient {resource}")
        return reasons

    def _selector_matches(self, pod: Any) -> bool:
        selector = pod.spec.node_selector or {}
        if any(self.node_labels.get(k) != v for k, v in selector.items()):
            return False
        affinity = pod.spec.affinity and pod.spec.affinity.node_affinity
        required = affinity and affinity.required_during_scheduling_ignored_during_execution
        if not required:
            return True
        return any(self._term_matches(term) for term in required.node_selector_terms or [])

    def _term_matches(self, term: Any) -> bool:
        for expression in term.match_expressions or []:
            value = self.node_labels.get(expression.key)
            values = expression.values or []
            operator = expression.operator
            if (
                (operator == "In" and value not in values)
                or (operator == "NotIn" and value in values)
                or (operator == "Exists" and value is None)
                or (operator == "DoesNotExist" and value is not None)
                or operator in ("Gt", "Lt")
            ):
                return False
        return True

    def _unschedulable(self, pod: Any, message: str) -> None:
        last = self._last_failure.get(pod.metadata.uid)
        if last and last[0] == message and time.monotonic() - last[1] < REPEAT_EVENT_SECONDS:
            return
        self._last_failure[pod.metadata.uid] = (message, time.monotonic())
        log.info("%s/%s unschedulable: %s", pod.metadata.namespace, pod.metadata.name, message)
        now = datetime.datetime.now(datetime.timezone.utc).isoformat()
        condition = {
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": message,
            "lastProbeTime": None,
            "lastTransitionTime": now,
        }
        try:
            self.core.patch_namespaced_pod_status(
                pod.metadata.name, pod.metadata.namespace, {"status": {"conditions": [condition]}}
            )
        except ApiException as exc:
            log.info("status of %s not updated: %s", pod.metadata.name, exc.reason)
        self.events.record(pod, "Warning", "FailedScheduling", message, component=SCHEDULER)

    def forget(self, uid: str) -> None:
        self._last_failure.pop(uid, None)


def requests(pod: Any) -> dict[str, Decimal]:
    """The pod's summed container requests (cpu in cores, memory in bytes)."""
    total = {"cpu": Decimal(0), "memory": Decimal(0)}
    for container in pod.spec.containers:
        wanted = (container.resources and container.resources.requests) or {}
        for resource in total:
            if resource in wanted:
                total[resource] += quantity.parse(wanted[resource])
    return total
