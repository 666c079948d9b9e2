"""The container's life on the engine: create, start, inspect, stop, remove.

Each function blocks (docker-py is synchronous); the infrastructure runs them in worker
threads. Engine failures become InfrastructureErrors that say what was being done.
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, Any

from shipway.infrastructure import InfrastructureError, InfrastructureNotFound
from shipway_docker._engine import Engine, engine_errors
from shipway_docker._spec import ContainerSpec

if TYPE_CHECKING:
    import docker

__all__ = [
    "container_state",
    "create_container",
    "remove_container",
    "remove_or_warn",
    "start_container",
    "stop_container",
]

# How many "-N" suffixes to try when the container name is taken.
_NAME_ATTEMPTS = 50


def create_container(engine: Engine, spec: ContainerSpec) -> str:
    """Create the container, retrying a taken name with -1, -2...; return its id."""
    import docker

    api = engine.client.api
    with engine_errors(engine.address, f"creating a container from {spec.image!r}"):
        for attempt in range(_NAME_ATTEMPTS):
            name = spec.name if attempt == 0 else f"{spec.name}-{attempt}"
            try:
                created = api.create_container(**spec.create_arguments(api, name))
            except docker.errors.APIError as exc:
                if exc.status_code == 409:  # the name is taken
                    continue
                raise
            return str(created["Id"])
    raise InfrastructureError(
        f"container names {spec.name!r} to {spec.name}-{_NAME_ATTEMPTS - 1} are all taken "
        f"on the Docker engine at {engine.address}",
        hint="Remove old containers (docker container prune), set auto_remove, or change name.",
    )


def start_container(engine: Engine, spec: ContainerSpec, container_id: str) -> None:
    """Copy a large job in, join the other networks, then start."""
    api = engine.client.api
    if spec.job_file is not None:
        with engine_errors(engine.address, "copying the job into the container"):
            api.put_archive(container_id, "/", spec.job_archive())
    for network in spec.networks[1:]:
        with engine_errors(engine.address, f"connecting the container to network {network!r}"):
            api.connect_container_to_network(container_id, network)
    with engine_errors(engine.address, f"starting the container from {spec.image!r}"):
        api.start(container_id)


def container_state(api: docker.APIClient, container_id: str) -> dict[str, Any]:
    state: dict[str, Any] = api.inspect_container(container_id)["State"]
    return state


def remove_container(api: docker.APIClient, container_id: str) -> None:
    """Remove the container; one that is already gone is fine."""
    import docker

    with contextlib.suppress(docker.errors.NotFound):
        api.remove_container(container_id, force=True)


def remove_or_warn(engine: Engine, container_id: str) -> None:
    """Remove the container; the run's outcome matters more than a failed clean-up."""
    try:
        with engine_errors(engine.address, f"removing container {container_id[:12]}"):
            remove_container(engine.client.api, container_id)
    except InfrastructureError as exc:
        print(f"shipway-docker: {exc.message}", file=sys.stderr, flush=True)


def stop_container(engine: Engine, container_id: str, grace_seconds: int) -> None:
    """SIGTERM, then SIGKILL after ``grace_seconds`` (what ``docker stop`` does)."""
    import docker

    api = engine.client.api
    short = container_id[:12]
    with engine_errors(engine.address, f"stopping container {short}"):
        try:
            state = api.inspect_container(container_id)["State"]
            if not (state.get("Running") or state.get("Restarting")):
                raise InfrastructureNotFound(
                    f"container {short} is not running ({state.get('Status', 'stopped')}): "
                    "the flow run has ended"
                )
            api.stop(container_id, timeout=grace_seconds)
        except docker.errors.NotFound:
            raise InfrastructureNotFound(
                f"container {short} is not on the Docker engine at {engine.address}: "
                "the flow run has ended and its container was removed"
            ) from None
