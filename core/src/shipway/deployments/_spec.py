"""A deployment as the store keeps it: resolved, validated, plain values only."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipway.deployments._files import DeploymentFile
from shipway.deployments._model import Deployment
from shipway.deployments._resolve import RunRequest
from shipway.deployments._resolve_file import resolve_deployment
from shipway.errors import ConfigError
from shipway.names import check_name_length
from shipway.plugins import PluginRegistry
from shipway.schedules import Schedule
from shipway.secrets import dump_keeping_secrets, reveal
from shipway.storage import Storage, load_storage

__all__ = ["DeploymentSpec", "deployment_spec", "push_code"]


@dataclasses.dataclass(frozen=True)
class DeploymentSpec:
    """What ``shipway deployment apply`` registers: everything an agent needs to run it.

    ``infrastructure`` is the resolved infrastructure as JSON (with ``type``), except
    that secret values are ``SecretStr`` (the store encrypts them, displays mask them) and
    secret references stay references (``{"secret": NAME}``, read when a run starts).
    ``storage`` is the resolved storage block the same way (None: no storage), and
    ``storage_ref`` the content ref last pushed to it (None: not pushed yet).
    """

    name: str
    entrypoint: str
    flow_name: str
    working_dir: str | None
    parameters: dict[str, Any]
    infrastructure: dict[str, Any]
    work_queue: str = "default"
    tags: tuple[str, ...] = ()
    description: str = ""
    version: str | None = None
    schedule: Schedule | None = None
    retries: int = 0
    retry_delay_seconds: float = 0.0
    storage: dict[str, Any] | None = None
    storage_ref: str | None = None

    def __post_init__(self) -> None:
        check_name_length("the deployment name", self.name)
        check_name_length(f"the flow name of deployment {self.name!r}", self.flow_name)
        check_name_length(f"the work queue of deployment {self.name!r}", self.work_queue)
        check_name_length(f"the version of deployment {self.name!r}", self.version)

    def with_code_pushed(
        self, *, allow_dirty: bool = False, registry: PluginRegistry | None = None
    ) -> DeploymentSpec:
        """This spec with its code pushed to its storage and the new ``storage_ref``
        (itself when it has no storage)."""
        if self.storage is None:
            return self
        storage = load_storage(reveal(self.storage), registry=registry)
        ref = push_code(
            storage, self.working_dir, deployment_name=self.name, allow_dirty=allow_dirty
        )
        return dataclasses.replace(self, storage_ref=ref)

    def run_request(
        self,
        *,
        parameters: Mapping[str, Any] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> RunRequest:
        """A new run of this deployment as :func:`resolve_run` takes it."""
        return RunRequest(
            deployment_name=self.name,
            entrypoint=self.entrypoint,
            flow_name=self.flow_name,
            working_dir=self.working_dir,
            infrastructure=self.infrastructure,
            overrides=(overrides or {},),
            parameters={**self.parameters, **(parameters or {})},
            storage=self.storage,
            storage_ref=self.storage_ref,
        )


def deployment_spec(
    source: DeploymentFile, deployment: Deployment, *, registry: PluginRegistry | None = None
) -> DeploymentSpec:
    """What the store keeps of a file's deployment: the infrastructure resolved and
    validated through the plugin registry here, so that an agent gets a complete,
    checked definition. Its code is not pushed here: see :meth:`DeploymentSpec.with_code_pushed`."""
    resolution = resolve_deployment(source, deployment, registry=registry)
    infrastructure = resolution.infrastructure
    # The real secret values, not pydantic's "**********": an agent runs with them.
    dumped = {"type": infrastructure.type, **dump_keeping_secrets(infrastructure)}
    return DeploymentSpec(
        name=deployment.name,
        entrypoint=deployment.entrypoint,
        flow_name=deployment.flow_name,
        working_dir=str(source.working_dir_for(deployment)),
        parameters=dict(deployment.parameters),
        infrastructure=dumped,
        work_queue=deployment.work_queue,
        tags=tuple(deployment.tags),
        description=deployment.description or "",
        version=deployment.version,
        schedule=deployment.schedule.to_schedule() if deployment.schedule else None,
        retries=deployment.retries,
        retry_delay_seconds=deployment.retry_delay_seconds,
        storage=None if resolution.storage is None else resolution.storage.block(),
    )


def push_code(
    storage: Storage, working_dir: str | None, *, deployment_name: str, allow_dirty: bool = False
) -> str:
    """Push the code of a deployment's project directory to its storage; the content ref."""
    if working_dir is None or not Path(working_dir).is_dir():
        raise ConfigError(
            f"cannot push the code of deployment {deployment_name!r}: its project directory "
            f"{working_dir!r} does not exist here",
            hint="Push from the machine (and checkout) where it was applied, or apply it again.",
        )
    return storage.push(Path(working_dir), allow_dirty=allow_dirty)
