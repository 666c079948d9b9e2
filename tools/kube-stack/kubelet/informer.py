"""A pod cache kept current with list + watch, resuming from the last resourceVersion
and re-listing on 410 Gone, like client-go's informers: the kubelet and the scheduler
act on what it holds, so they see every change without polling the API server."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

log = logging.getLogger("kubelet.informer")


class PodInformer:
    def __init__(self, core: client.CoreV1Api, on_change: Callable[[str], None]) -> None:
        self.core = core
        self.on_change = on_change  # called with "namespace/name" after every change
        self.pods: dict[str, Any] = {}
        self.lock = threading.Lock()
        self.synced = threading.Event()

    @staticmethod
    def key(pod: Any) -> str:
        return f"{pod.metadata.namespace}/{pod.metadata.name}"

    def get(self, key: str) -> Any | None:
        with self.lock:
            return self.pods.get(key)

    def snapshot(self) -> list[Any]:
        with self.lock:
            return list(self.pods.values())

    def run(self, stopping: threading.Event) -> None:
        resource_version = ""
        while not stopping.is_set():
            try:
                if not resource_version:
                    resource_version = self._relist()
                resource_version = self._watch(resource_version, stopping)
            except ApiException as exc:
                if exc.status == 410:
                    log.info("watch expired (410 Gone): listing again")
                    resource_version = ""
                else:
                    log.warning("pod watch failed: %s %s", exc.status, exc.reason)
                    time.sleep(1)
            except Exception as exc:  # connection reset, API server restarting
                log.warning("pod watch interrupted: %s", exc)
                time.sleep(1)

    def _relist(self) -> str:
        listing = self.core.list_pod_for_all_namespaces()
        fresh = {self.key(pod): pod for pod in listing.items}
        with self.lock:
            gone = set(self.pods) - set(fresh)
            self.pods = fresh
        for key in [*fresh, *gone]:
            self.on_change(key)
        self.synced.set()
        return str(listing.metadata.resource_version if listing.metadata else "")

    def _watch(self, resource_version: str, stopping: threading.Event) -> str:
        stream: Any = watch.Watch()  # type: ignore[no-untyped-call]
        for event in stream.stream(
            self.core.list_pod_for_all_namespaces,
            resource_version=resource_version,
            timeout_seconds=120,
            allow_watch_bookmarks=True,
        ):
            kind, pod = event["type"], event["object"]
            if kind == "BOOKMARK":
                resource_version = str(stream.resource_version or resource_version)
                continue
            resource_version = str(pod.metadata.resource_version)
            key = self.key(pod)
            with self.lock:
                if kind == "DELETED":
                    self.pods.pop(key, None)
                else:
                    self.pods[key] = pod
            self.on_change(key)
            if stopping.is_set():
                stream.stop()
        return resource_version  # the stream re-watches by itself after each timeout
