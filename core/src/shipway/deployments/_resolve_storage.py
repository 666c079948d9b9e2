"""A deployment's storage and the ``storage`` part of its override layers, resolved into
a validated :class:`Storage` (or None: the code is read where ``working_dir`` says)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from pydantic import ValidationError

from shipway.deployments._overrides import merge_overrides
from shipway.deployments._validation import config_error_from_validation, problems_on_one_line
from shipway.deployments._yaml import Loc
from shipway.errors import ConfigError
from shipway.plugins import PluginError, PluginRegistry, UnknownStorageType
from shipway.secrets import reveal
from shipway.storage import Storage

__all__ = ["STORAGE_KEY", "StorageLocator", "resolve_storage", "without_storage"]

STORAGE_KEY = "storage"
"""The key of an override layer that applies to the storage (``--override storage.X=...``)."""


class StorageLocator(Protocol):
    """Where a file set its deployment's storage, for messages."""

    @property
    def storage_blocks(self) -> Sequence[str]:
        """The file's named storage blocks: an unknown type may have meant one."""

    def locate_storage(self, field: Loc) -> str:
        """Where ``field`` (a path inside the storage; empty: the storage itself) was set."""


def without_storage(layer: Mapping[str, Any]) -> Mapping[str, Any]:
    """An override layer without its ``storage`` part (what applies to the infrastructure)."""
    return {key: value for key, value in layer.items() if key != STORAGE_KEY}


def resolve_storage(
    deployment_name: str,
    storage: Storage | Mapping[str, Any] | None,
    overrides: Sequence[Mapping[str, Any]],
    registry: PluginRegistry,
    locator: StorageLocator | None,
) -> Storage | None:
    """The storage with the override layers' ``storage`` parts merged in, validated."""
    layers = [layer[STORAGE_KEY] for layer in overrides if layer.get(STORAGE_KEY) is not None]
    for layer in layers:
        if not isinstance(layer, Mapping):
            raise ConfigError(
                f"'storage' in the overrides of deployment {deployment_name!r} must be a "
                "mapping of storage fields, e.g. --override storage.ref=main"
            )
    if storage is None:
        if layers:
            raise ConfigError(
                f"overrides set storage fields, but deployment {deployment_name!r} has no storage",
                hint="Give the deployment a 'storage' (a block name or a type) first.",
            )
        return None
    cls: type[Storage]
    if isinstance(storage, Storage):
        cls = type(storage)
        data = {"type": storage.type, **storage.model_dump(exclude_unset=True)}
    else:
        data = reveal(storage)
        cls = _resolve_type(registry, data.get("type"), deployment_name, locator)
    for layer in layers:
        wanted = layer.get("type")
        if wanted is not None and wanted != cls.type_name():
            raise ConfigError(
                f"overrides cannot change the storage type of deployment {deployment_name!r} "
                f"from {cls.type_name()!r} to {wanted!r}",
                hint="Select the other storage (a block or a type) with the deployment's "
                "'storage' field instead.",
            )
    merged = merge_overrides(data, *(reveal(layer) for layer in layers))
    merged["type"] = cls.type_name()
    try:
        return cls.model_validate(merged)
    except ValidationError as exc:
        what = f"storage for deployment {deployment_name!r} ({cls.type_name()})"
        if locator is None:
            raise ConfigError(f"invalid {what}: {problems_on_one_line(exc)}") from exc
        raise config_error_from_validation(
            exc, what=what, locate=lambda loc: locator.locate_storage(loc), model=cls
        ) from exc


def _resolve_type(
    registry: PluginRegistry,
    type_name: object,
    deployment_name: str,
    locator: StorageLocator | None,
) -> type[Storage]:
    if not isinstance(type_name, str):
        raise ConfigError(f"the storage of deployment {deployment_name!r} has no 'type'")
    try:
        return registry.resolve_storage(type_name)
    except PluginError as exc:
        if locator is None:
            raise
        error: PluginError = exc
        if isinstance(exc, UnknownStorageType):  # the name may have meant a block
            error = UnknownStorageType(type_name, exc.installed, blocks=locator.storage_blocks)
        raise ConfigError(
            error.message, location=locator.locate_storage(("type",)), hint=error.hint
        ) from exc
