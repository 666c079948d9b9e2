"""Pod containers as Docker containers on the local engine: the part that makes the
tests real (real processes, real exit codes, real OOM kills, real logs). Only the first
container of a pod runs; of volumes, only secret and configMap ones are mounted
(volumes.py); probes and init containers are not supported."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import docker
import docker.errors
import quantity
from volumes import Volumes

log = logging.getLogger("kubelet.runtime")

STACK_LABEL = "io.shipway.kube-stack"
UID_LABEL = "io.shipway.kube-stack.pod-uid"
POD_LABEL = "io.shipway.kube-stack.pod"


class ImageMissing(Exception):
    """The image is not in the local engine (no registry can be reached to pull it)."""


class Runtime:
    def __init__(self, stack_id: str) -> None:
        self.docker = docker.from_env(timeout=120)
        self.stack_id = stack_id
        self.volumes = Volumes(stack_id)

    def image_present(self, image: str) -> bool:
        try:
            self.docker.images.get(image)
        except docker.errors.ImageNotFound:
            return False
        return True

    def containers(self) -> dict[str, Any]:
        """This stack's containers by pod uid."""
        found = self.docker.containers.list(
            all=True, filters={"label": f"{STACK_LABEL}={self.stack_id}"}
        )
        return {c.labels[UID_LABEL]: c for c in found}

    def container(self, uid: str) -> Any | None:
        found = self.docker.containers.list(
            all=True, filters={"label": [f"{STACK_LABEL}={self.stack_id}", f"{UID_LABEL}={uid}"]}
        )
        return found[0] if found else None

    def start(self, pod: Any, spec: Any, environment: dict[str, str], binds: list[str]) -> Any:
        """Create and start the container for ``spec`` (a V1Container) of ``pod``, with
        ``binds`` (its volumes, see volumes.py) mounted."""
        limits = (spec.resources and spec.resources.limits) or {}
        options: dict[str, Any] = {}
        if "memory" in limits:
            options["mem_limit"] = int(quantity.parse(limits["memory"]))
            options["memswap_limit"] = options["mem_limit"]  # no swap: the OOM killer acts
        if "cpu" in limits:
            options["nano_cpus"] = int(quantity.parse(limits["cpu"]) * 10**9)
        metadata = pod.metadata
        if pod.spec.host_network:  # the node's network, here the host's (Docker rejects a
            options["network_mode"] = "host"  # hostname with it)
        else:
            options["hostname"] = metadata.name[:63]
        container = self.docker.containers.create(
            spec.image,
            entrypoint=spec.command or None,
            command=spec.args if spec.args is not None else ([] if spec.command else None),
            environment=environment,
            volumes=binds,
            working_dir=spec.working_dir or None,
            name=f"k8s_{spec.name}_{metadata.name}_{metadata.namespace}_{metadata.uid[:8]}",
            labels={
                STACK_LABEL: self.stack_id,
                UID_LABEL: metadata.uid,
                POD_LABEL: f"{metadata.namespace}/{metadata.name}",
            },
            stdin_open=bool(spec.stdin),
            tty=bool(spec.tty),
            **options,
        )
        container.start()
        container.reload()
        return container

    def stop(self, container: Any, grace_seconds: int) -> None:
        """SIGTERM, then SIGKILL after ``grace_seconds`` (Docker's stop does both)."""
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            container.stop(timeout=max(0, grace_seconds))
            container.reload()

    def remove(self, container: Any) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)
        self.volumes.remove(container.labels[UID_LABEL])

    def remove_all(self) -> None:
        for container in self.containers().values():
            self.remove(container)
        self.volumes.remove_all()
