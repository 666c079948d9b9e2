"""Resolve a deployment of a file (``shipway.yaml`` or Python) through :func:`resolve_run`,
with errors that point at the file's lines."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from shipway.deployments._files import DeploymentFile
from shipway.deployments._model import Deployment
from shipway.deployments._resolve import Resolution, RunRequest, resolve_run
from shipway.deployments._yaml import Loc
from shipway.infrastructure import Infrastructure
from shipway.plugins import PluginRegistry
from shipway.storage import Storage

__all__ = ["resolve_deployment", "resolve_infrastructure"]

# The override layers of a file's deployment, in the order they apply.
_FILE_OVERRIDES, _COMMAND_LINE = 0, 1


def resolve_deployment(
    source: DeploymentFile,
    deployment: Deployment,
    *,
    parameters: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    flow_run_id: str | None = None,
    registry: PluginRegistry | None = None,
) -> Resolution:
    """Resolve ``deployment`` (its infrastructure: an instance, a type name, a block name
    or a mapping; then its ``overrides:``) with the command line's ``parameters`` and
    ``--override`` values on top."""
    index = source.index_of(deployment.name)
    own: Loc = ("deployments", index, "infrastructure")
    spec = deployment.infrastructure
    infrastructure: Infrastructure | Mapping[str, Any]
    prefix: Loc
    type_at: Loc
    if isinstance(spec, str) and spec in source.blocks:  # a named block wins over a type
        infrastructure, prefix = source.blocks[spec], ("infrastructure", spec)
        type_at = (*prefix, "type")
    elif isinstance(spec, str):  # a type name, with its defaults
        infrastructure, prefix, type_at = {"type": spec}, own, own
    else:  # an instance, or an inline mapping with a type
        infrastructure, prefix, type_at = spec, own, (*own, "type")
    storage, storage_prefix = _storage_of(source, deployment, index)
    request = RunRequest(
        deployment_name=deployment.name,
        entrypoint=deployment.entrypoint,
        flow_name=deployment.flow_name,
        working_dir=str(source.working_dir_for(deployment)),
        infrastructure=infrastructure,
        overrides=(deployment.overrides, overrides or {}),
        parameters={**deployment.parameters, **(parameters or {})},
        flow_run_id=flow_run_id,
        storage=storage,
    )
    locator = _FileLocator(source, index, prefix, source.locate(type_at), storage_prefix)
    return resolve_run(request, registry=registry, locator=locator)


def _storage_of(
    source: DeploymentFile, deployment: Deployment, index: int
) -> tuple[Storage | Mapping[str, Any] | None, Loc]:
    """The deployment's storage (a block of the file wins over a type of that name), and
    where the file sets it."""
    spec = deployment.storage
    own: Loc = ("deployments", index, "storage")
    if isinstance(spec, str) and spec in source.storage_blocks:
        return source.storage_blocks[spec], ("storage", spec)
    if isinstance(spec, str):
        return {"type": spec}, own
    return spec, own


def resolve_infrastructure(
    deployment: Deployment,
    source: DeploymentFile,
    *,
    overrides: Mapping[str, Any] | None = None,
    registry: PluginRegistry | None = None,
) -> Infrastructure:
    """The validated infrastructure of a file's deployment, as :func:`resolve_deployment`
    resolves it (``deployment inspect`` and ``apply`` need nothing else)."""
    resolution = resolve_deployment(source, deployment, overrides=overrides, registry=registry)
    return resolution.infrastructure


@dataclasses.dataclass(frozen=True)
class _FileLocator:
    """Lines of the file for what it sets; ``--override`` for the command line's values."""

    source: DeploymentFile
    index: int
    prefix: Loc
    type_location: str
    storage_prefix: Loc

    @property
    def blocks(self) -> Sequence[str]:
        return list(self.source.blocks)

    @property
    def storage_blocks(self) -> Sequence[str]:
        return list(self.source.storage_blocks)

    def locate_storage(self, field: Loc) -> str:
        located = self.source.locate((*self.storage_prefix, *field))
        if located != self.source.display:
            return located
        return self.source.locate(("deployments", self.index, "storage"))

    def locate(self, layer: int | None, field: Loc) -> str:
        if layer == _COMMAND_LINE:
            return "--override"
        if layer == _FILE_OVERRIDES:
            return self.source.locate(("deployments", self.index, "overrides", *field))
        located = self.source.locate((*self.prefix, *field))
        if located != self.source.display:
            return located
        return self.source.locate(("deployments", self.index))
