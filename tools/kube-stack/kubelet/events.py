"""Kubernetes Events, posted the way kube-scheduler and the kubelet post them, because
the plugin under test reads them to explain why a pod did not run."""

from __future__ import annotations

import datetime
import logging
import uuid
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

log = logging.getLogger("kubelet.events")


class EventRecorder:
    def __init__(self, core: client.CoreV1Api, node_name: str) -> None:
        self.core = core
        self.node_name = node_name

    def record(
        self, pod: Any, kind: str, reason: str, message: str, component: str = "kubelet"
    ) -> None:
        """One core/v1 Event about ``pod`` (``kind`` is Normal or Warning)."""
        now = datetime.datetime.now(datetime.timezone.utc)
        metadata = pod.metadata
        event = client.CoreV1Event(
            metadata=client.V1ObjectMeta(
                name=f"{metadata.name}.{uuid.uuid4().hex[:16]}", namespace=metadata.namespace
            ),
            involved_object=client.V1ObjectReference(
                kind="Pod",
                namespace=metadata.namespace,
                name=metadata.name,
                uid=metadata.uid,
                api_version="v1",
                resource_version=metadata.resource_version,
            ),
            reason=reason,
            message=message,
            type=kind,
            count=1,
            first_timestamp=now,
            last_timestamp=now,
            source=client.V1EventSource(
                component=component, host=self.node_name if component == "kubelet" else None
            ),
            reporting_component=component,
            reporting_instance=self.node_name,
        )
        try:
            self.core.create_namespaced_event(metadata.namespace, event)
        except ApiException as exc:  # a namespace being deleted refuses new events
            log.info("event %s for %s not recorded: %s", reason, metadata.name, exc.reason)
