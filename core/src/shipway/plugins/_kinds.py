"""The kinds of plugin that provide classes selected by name: infrastructure and storage.

One registry serves both: each kind says its entry-point group, the hook that returns its
classes and the base class those must subclass, so resolution, collisions, unknown names
and blocking follow one set of rules for every kind.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from shipway._first_party import FIRST_PARTY_PLUGINS, FIRST_PARTY_STORAGE, FirstPartyPlugin
from shipway.plugins._discovery import INFRASTRUCTURE_GROUP, STORAGE_GROUP

__all__ = ["INFRASTRUCTURE_KIND", "KINDS", "STORAGE_KIND", "PluginKind"]


@dataclasses.dataclass(frozen=True)
class PluginKind:
    """One kind of named plugin class."""

    name: str
    """How messages and ``shipway plugins`` call it: ``infrastructure``, ``storage``."""
    group: str
    """The entry-point group; an entry point's name is the type name it provides."""
    hook: str
    """The hook that returns the classes, e.g. ``shipway_infrastructure_types``."""
    base_module: str
    base_name: str
    first_party: dict[str, FirstPartyPlugin] = dataclasses.field(compare=False, hash=False)
    """Type name -> the first-party distribution providing it."""

    def base_class(self) -> type[Any]:
        """The class every provided class subclasses (imported when first needed: the
        contract modules import the registry lazily too)."""
        base: type[Any] = getattr(importlib.import_module(self.base_module), self.base_name)
        return base

    def __str__(self) -> str:
        return self.name


INFRASTRUCTURE_KIND = PluginKind(
    "infrastructure",
    INFRASTRUCTURE_GROUP,
    "shipway_infrastructure_types",
    "shipway.infrastructure",
    "Infrastructure",
    FIRST_PARTY_PLUGINS,
)
STORAGE_KIND = PluginKind(
    "storage",
    STORAGE_GROUP,
    "shipway_storage_types",
    "shipway.storage",
    "Storage",
    FIRST_PARTY_STORAGE,
)
KINDS = (INFRASTRUCTURE_KIND, STORAGE_KIND)
