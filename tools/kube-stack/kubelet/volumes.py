"""Secret and ConfigMap volumes, as the real kubelet projects them: one file per key in
a directory on this machine, bind-mounted into the container (the Docker engine runs
here). The plugin under test hands a large job over in a Secret volume. Other kinds of
volume are not supported (they are left out, as before)."""

from __future__ import annotations

import base64
import shutil
import tempfile
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException


class MountFailed(Exception):
    """A volume cannot be set up yet (its Secret does not exist): the pod waits in
    ContainerCreating with a FailedMount event, and the kubelet tries again."""


class Volumes:
    def __init__(self, stack_id: str) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=f"kube-stack-{stack_id}-volumes-"))

    def binds(self, core: client.CoreV1Api, pod: Any, container: Any) -> list[str]:
        """Write the container's secret and configMap volumes; Docker's ``volumes``
        (``host:container:mode``) for them."""
        by_name = {volume.name: volume for volume in pod.spec.volumes or []}
        binds = []
        for mount in container.volume_mounts or []:
            volume = by_name.get(mount.name)
            if volume is None:
                continue
            files = self._files(core, pod.metadata.namespace, volume)
            if files is None:
                continue
            directory = self.root / pod.metadata.uid / mount.name
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
            mode = (volume.secret or volume.config_map).default_mode or 0o644
            for key, content in files.items():
                (directory / key).write_bytes(content)
                (directory / key).chmod(mode)
            binds.append(f"{directory}:{mount.mount_path}:{'ro' if mount.read_only else 'rw'}")
        return binds

    def _files(
        self, core: client.CoreV1Api, namespace: str, volume: Any
    ) -> dict[str, bytes] | None:
        try:
            if volume.secret is not None:
                name, kind = volume.secret.secret_name, "secret"
                data = core.read_namespaced_secret(name, namespace).data or {}
                return {key: base64.b64decode(value) for key, value in data.items()}
            if volume.config_map is not None:
                name, kind = volume.config_map.name, "configmap"
                found = core.read_namespaced_config_map(name, namespace)
                return {key: value.encode() for key, value in (found.data or {}).items()}
        except ApiException as exc:
            source = volume.secret or volume.config_map
            if exc.status == 404 and source.optional:
                return {}
            if exc.status == 404:
                raise MountFailed(
                    f'MountVolume.SetUp failed for volume "{volume.name}" : {kind} "{name}" '
                    "not found"
                ) from exc
            raise
        return None

    def remove(self, uid: str) -> None:
        shutil.rmtree(self.root / uid, ignore_errors=True)

    def remove_all(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
