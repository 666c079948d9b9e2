"""Turn a deployment's ``infrastructure`` (instance, type name, block name or mapping)
plus its overrides into one validated Infrastructure instance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from shipway.deployments._files import DeploymentFile
from shipway.deployments._model import Deployment
from shipway.deployments._overrides import merge_overrides
from shipway.deployments._validation import config_error_from_validation
from shipway.errors import ConfigError
from shipway.infrastructure import Infrastructure
from shipway.plugins import (
    PluginError,
    PluginRegistry,
    UnknownInfrastructureType,
    get_registry,
)

__all__ = ["resolve_infrastructure"]

Loc = tuple[str | int, ...]


def resolve_infrastructure(
    deployment: Deployment,
    source: DeploymentFile,
    *,
    overrides: Mapping[str, Any] | None = None,
    registry: PluginRegistry | None = None,
) -> Infrastructure:
    """Resolve and validate. Only the plugin for the needed type is loaded."""
    registry = registry or get_registry()
    index = source.index_of(deployment.name)
    spec = deployment.infrastructure
    where: Loc
    if isinstance(spec, Infrastructure):
        cls: type[Infrastructure] = type(spec)
        data = {"type": spec.type, **spec.model_dump(exclude_unset=True)}
        where = ("deployments", index, "infrastructure")
    elif isinstance(spec, str) and spec in source.blocks:
        data = dict(source.blocks[spec])
        where = ("infrastructure", spec)
        cls = _resolve_type(registry, str(data["type"]), source, (*where, "type"))
    elif isinstance(spec, str):
        data = {"type": spec}
        where = ("deployments", index, "infrastructure")
        cls = _resolve_type(registry, spec, source, where)
    else:
        data = dict(spec)
        where = ("deployments", index, "infrastructure")
        cls = _resolve_type(registry, str(data["type"]), source, (*where, "type"))

    cli_overrides = overrides or {}
    for layer, origin in ((deployment.overrides, "file"), (cli_overrides, "cli")):
        wanted = layer.get("type")
        if wanted is not None and wanted != cls.type_name():
            # Quietly running on the old type would be worse than refusing.
            where_set = (
                "--override"
                if origin == "cli"
                else source.locate(("deployments", index, "overrides", "type"))
            )
            raise ConfigError(
                f"overrides cannot change the infrastructure type of deployment "
                f"{deployment.name!r} from {cls.type_name()!r} to {wanted!r}",
                location=where_set,
                hint="Select the other type (or a block of it) with the deployment's "
                "'infrastructure' field instead.",
            )
    merged = merge_overrides(data, deployment.overrides, cli_overrides)
    merged["type"] = cls.type_name()  # `type: null` in an override resets to the same
    try:
        return cls.model_validate(merged)
    except ValidationError as exc:
        raise config_error_from_validation(
            exc,
            what=f"infrastructure for deployment {deployment.name!r} ({cls.type_name()})",
            prefix=where,
            locate=lambda loc: _locate_field(source, deployment, index, loc, where, cli_overrides),
            model=cls,
        ) from exc


def _resolve_type(
    registry: PluginRegistry, type_name: str, source: DeploymentFile, where: Loc
) -> type[Infrastructure]:
    try:
        return registry.resolve(type_name)
    except UnknownInfrastructureType as exc:
        error = UnknownInfrastructureType(type_name, exc.installed, blocks=list(source.blocks))
        raise ConfigError(error.message, location=source.locate(where), hint=error.hint) from exc
    except PluginError as exc:  # broken, blocked or colliding: say which line selected it
        raise ConfigError(exc.message, location=source.locate(where), hint=exc.hint) from exc


def _locate_field(
    source: DeploymentFile,
    deployment: Deployment,
    index: int,
    loc: Loc,
    where: Loc,
    cli_overrides: Mapping[str, Any],
) -> str:
    """A bad field may come from the block, the deployment's overrides or the command line:
    point at whichever of them set it."""
    field = loc[len(where) :]
    if field and field[0] in cli_overrides:
        return "--override"
    if field and field[0] in deployment.overrides:
        return source.locate(("deployments", index, "overrides", *field))
    located = source.locate(loc)
    return located if located != source.display else source.locate(("deployments", index))
