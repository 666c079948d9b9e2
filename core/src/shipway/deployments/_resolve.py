"""The one path from a deployment's infrastructure and its override layers to what a run
needs: a validated Infrastructure instance, the Storage its code comes from (if any) and
the Job.

Every caller goes through :func:`resolve_run`: ``shipway run``, ``infra preview``,
``deployment inspect`` and ``deployment apply`` for a file's deployment (errors point at
the file's lines through a :class:`Locator`, see ``_resolve_file``), ``deployment run`` to
check its ``--override`` against a stored deployment, and the agent for a stored run
(errors on one line: they become the run's state message).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from pydantic import ValidationError

from shipway.deployments._overrides import merge_overrides
from shipway.deployments._resolve_storage import StorageLocator, resolve_storage, without_storage
from shipway.deployments._validation import config_error_from_validation, problems_on_one_line
from shipway.deployments._yaml import Loc
from shipway.errors import ConfigError, ParameterError
from shipway.infrastructure import Infrastructure
from shipway.jobs import Job, JobFormatError
from shipway.plugins import PluginError, PluginRegistry, UnknownInfrastructureType, get_registry
from shipway.secrets import reveal
from shipway.storage import Storage

__all__ = ["Locator", "Resolution", "RunRequest", "resolve_run"]

_TYPE_CHANGE_HINT = (
    "Select the other type (or a block of it) with the deployment's 'infrastructure' "
    "field instead."
)


@dataclasses.dataclass(frozen=True)
class RunRequest:
    """What one run is resolved from: a deployment's flow and infrastructure, the
    override layers on top of it, and the run's own parameters and id."""

    deployment_name: str
    entrypoint: str
    flow_name: str
    working_dir: str | None
    infrastructure: Infrastructure | Mapping[str, Any]
    """An instance, or its fields with a ``type`` key (the type is resolved by name)."""
    overrides: tuple[Mapping[str, Any], ...] = ()
    """Applied in order on top of ``infrastructure`` (see ``merge_overrides``); a layer's
    ``storage`` mapping applies to ``storage``."""
    parameters: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    """Complete: the deployment's defaults already merged with the run's own."""
    flow_run_id: str | None = None
    """None: a new id."""
    storage: Storage | Mapping[str, Any] | None = None
    """Where the code comes from: an instance, or its fields with a ``type`` key; None:
    the code is read in ``working_dir``, where the run executes."""
    storage_ref: str | None = None
    """The content ref pushed to ``storage`` (None: not pushed yet)."""


@dataclasses.dataclass(frozen=True)
class Resolution:
    """What a run needs: where it runs, where its code comes from, and what it runs."""

    infrastructure: Infrastructure
    storage: Storage | None
    job: Job


class Locator(StorageLocator, Protocol):
    """Where a request's values were written (a file and line, ``--override``), so that
    errors point there. Without a locator, errors say what is wrong on one line."""

    @property
    def prefix(self) -> Loc:
        """The infrastructure's own path in the file, e.g. ``("infrastructure", "local")``."""

    @property
    def type_location(self) -> str:
        """Where the infrastructure's type name is written."""

    @property
    def blocks(self) -> Sequence[str]:
        """The file's named infrastructure blocks: an unknown type may have meant one."""

    def locate(self, layer: int | None, field: Loc) -> str:
        """Where ``field`` (a path inside the infrastructure) was set: by override layer
        ``layer``, or (None) by the infrastructure itself."""


def resolve_run(
    request: RunRequest, *, registry: PluginRegistry | None = None, locator: Locator | None = None
) -> Resolution:
    """Merge the override layers into the infrastructure and the storage, resolve their
    types through the registry (only those plugins are loaded), validate them and build
    the job (which carries the storage block and ref to the engine).

    Raises a ``ShipwayError`` saying what is wrong; nothing is started."""
    registry = registry or get_registry()
    infrastructure = _resolve_infrastructure(request, registry, locator)
    storage = resolve_storage(
        request.deployment_name, request.storage, request.overrides, registry, locator
    )
    block = None if storage is None else reveal(storage.block())
    try:
        job = Job(
            entrypoint=request.entrypoint,
            parameters=request.parameters,
            flow_name=request.flow_name,
            deployment_name=request.deployment_name,
            # With storage the code is not where the deployment was applied: the engine
            # pulls it and the pulled directory becomes the working directory.
            working_dir=request.working_dir if storage is None else None,
            storage=block,
            storage_ref=request.storage_ref if storage is not None else None,
            **({"flow_run_id": request.flow_run_id} if request.flow_run_id else {}),
        )
    except JobFormatError as exc:
        raise ParameterError(str(exc)) from None
    return Resolution(infrastructure, storage, job)



def _resolve_infrastructure(
    request: RunRequest, registry: PluginRegistry, locator: Locator | None
) -> Infrastructure:
    base = request.infrastructure
    cls: type[Infrastructure]
    if isinstance(base, Infrastructure):
        cls = type(base)
        data = {"type": base.type, **base.model_dump(exclude_unset=True)}
    else:
        data = reveal(base)  # stored secrets decrypted (UnreadableSecret names one that fails)
        cls = _resolve_type(registry, data.get("type"), request, locator)
    layers = [without_storage(layer) for layer in request.overrides]
    for layer, overrides in enumerate(layers):
        wanted = overrides.get("type")
        if wanted is not None and wanted != cls.type_name():
            # Quietly running on the old type would be worse than refusing.
            raise ConfigError(
                f"overrides cannot change the infrastructure type of deployment "
                f"{request.deployment_name!r} from {cls.type_name()!r} to {wanted!r}",
                location=locator.locate(layer, ("type",)) if locator else None,
                hint=_TYPE_CHANGE_HINT if locator else None,
            )
    merged = merge_overrides(data, *(reveal(layer) for layer in layers))
    merged["type"] = cls.type_name()  # `type: null` in an override resets to the same
    try:
        return cls.model_validate(merged)
    except ValidationError as exc:
        raise _invalid(exc, cls, request, locator) from exc


def _resolve_type(
    registry: PluginRegistry, type_name: object, request: RunRequest, locator: Locator | None
) -> type[Infrastructure]:
    if not isinstance(type_name, str):
        raise ConfigError(
            f"deployment {request.deployment_name!r} has no infrastructure type",
            hint="Set 'infrastructure' on the deployment and apply it again.",
        )
    try:
        return registry.resolve(type_name)
    except PluginError as exc:
        if locator is None:
            raise
        error: PluginError = exc
        if isinstance(exc, UnknownInfrastructureType):  # the name may have meant a block
            error = UnknownInfrastructureType(type_name, exc.installed, blocks=locator.blocks)
        # Unknown, broken, blocked or colliding: say which line selected it.
        raise ConfigError(error.message, location=locator.type_location, hint=error.hint) from exc


def _invalid(
    exc: ValidationError,
    cls: type[Infrastructure],
    request: RunRequest,
    locator: Locator | None,
) -> ConfigError:
    """Every problem, each pointing at whichever layer set the field (with a locator);
    or all on one line, blaming ``--override`` when only the overrides are wrong."""
    if locator is not None:
        prefix = locator.prefix

        def locate(loc: Loc) -> str:
            field = loc[len(prefix) :]
            return locator.locate(_layer_that_set(request, field), field)

        return config_error_from_validation(
            exc,
            what=f"infrastructure for deployment {request.deployment_name!r} ({cls.type_name()})",
            prefix=prefix,
            locate=locate,
            model=cls,
        )
    problems = problems_on_one_line(exc)
    if all(_layer_that_set(request, tuple(error["loc"])) is not None for error in exc.errors()):
        return ConfigError(f"--override does not fit the infrastructure: {problems}")
    return ConfigError(
        f"invalid {cls.type_name()} infrastructure for deployment "
        f"{request.deployment_name!r}: {problems}"
    )


def _layer_that_set(request: RunRequest, field: Loc) -> int | None:
    """The last override layer that set ``field`` (None: the infrastructure itself did)."""
    if not field:
        return None
    for layer in reversed(range(len(request.overrides))):
        if field[0] in request.overrides[layer]:
            return layer
    return None
