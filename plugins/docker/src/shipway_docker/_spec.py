"""What one container will be: everything ``run`` creates and ``preview`` prints.

Building it is pure (no engine calls), so the preview is exactly what a run would do.
"""

from __future__ import annotations

import dataclasses
import io
import os
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipway_docker._fields import PullPolicy, memory_bytes, split_volume

if TYPE_CHECKING:
    import docker

__all__ = [
    "HOST_GATEWAY",
    "JOB_FILE_PATH",
    "LABEL_PREFIX",
    "ContainerSpec",
    "resolve_volumes",
    "without_unset",
]

LABEL_PREFIX = "io.shipway."
"""Docker's reverse-DNS convention for the run's labels (``io.shipway.flow-run-id``...)."""
# On a Linux engine the host is not reachable by name unless we say so (Docker Desktop
# does it by itself); "host-gateway" is the engine's own address for the host (20.10+).
HOST_GATEWAY = {"host.docker.internal": "host-gateway"}
JOB_FILE_PATH = "/.shipway-flow-run.json"
"""Where a job too large for an environment variable is put in the container: at the
root, where no volume can be mounted over it."""


@dataclasses.dataclass(frozen=True)
class ContainerSpec:
    image: str
    name: str
    command: list[str]
    environment: dict[str, str]
    labels: dict[str, str]
    pull_policy: PullPolicy
    binds: list[str] = dataclasses.field(default_factory=list)
    networks: list[str] = dataclasses.field(default_factory=list)
    network_mode: str | None = None
    mem_limit: str | int | None = None
    memswap_limit: str | int | None = None
    privileged: bool = False
    extra_hosts: dict[str, str] = dataclasses.field(default_factory=dict)
    auto_remove: bool = False
    job_file: bytes | None = None
    """A job too large for the environment: copied to JOB_FILE_PATH before the start."""

    def job_archive(self) -> bytes:
        """``job_file`` as the tar archive ``put_archive`` takes, to extract at ``/``.
        Readable by any user, as the image may run as one that is not root; nobody
        outside the container sees it who could not read its environment as well."""
        assert self.job_file is not None
        member = tarfile.TarInfo(JOB_FILE_PATH.lstrip("/"))
        member.size = len(self.job_file)
        member.mode = 0o444
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            archive.addfile(member, io.BytesIO(self.job_file))
        return buffer.getvalue()

    def create_arguments(self, api: docker.APIClient, name: str) -> dict[str, Any]:
        """Keyword arguments for ``APIClient.create_container``, named ``name``.

        Only the first network is joined at creation (the API takes one); the others
        are connected before the container starts.
        """
        host_config = api.create_host_config(
            binds=self.binds or None,
            network_mode=self.network_mode or (self.networks[0] if self.networks else None),
            mem_limit=memory_bytes(self.mem_limit) if self.mem_limit is not None else None,
            memswap_limit=(
                memory_bytes(self.memswap_limit) if self.memswap_limit is not None else None
            ),
            privileged=self.privileged,
            extra_hosts=self.extra_hosts or None,
        )
        networking_config = (
            api.create_networking_config({self.networks[0]: api.create_endpoint_config()})
            if self.networks
            else None
        )
        return {
            "image": self.image,
            "command": self.command,
            "name": name,
            "environment": self.environment,
            "labels": self.labels,
            "host_config": host_config,
            "networking_config": networking_config,
        }


def resolve_volumes(volumes: list[str], project_dir: str | None) -> list[str]:
    """Volumes with relative (``./``) and home (``~``) host paths made absolute;
    relative paths are taken from the project directory."""
    base = Path(project_dir or os.getcwd())
    resolved = []
    for spec in volumes:
        host, container, mode = split_volume(spec)
        if host.startswith("~"):
            host = str(Path(host).expanduser())
        elif host.startswith("."):  # ./x, ../x, . or .. (a volume name cannot start so)
            host = os.path.normpath(base / host)
        resolved.append(":".join(part for part in (host, container, mode) if part))
    return resolved


def without_unset(env: Mapping[str, str | None]) -> dict[str, str]:
    """A container inherits nothing from this process, so "unset" has nothing to do."""
    return {key: value for key, value in env.items() if value is not None}
