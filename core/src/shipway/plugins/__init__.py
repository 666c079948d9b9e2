"""Discovery and resolution of plugins (entry-point groups ``shipway.infrastructure``,
``shipway.storage`` and ``shipway.plugins``), with one registry per process."""

from __future__ import annotations

from shipway._first_party import (
    FIRST_PARTY_PLUGINS,
    FIRST_PARTY_STORAGE,
    FirstPartyPlugin,
    first_party_distribution,
)
from shipway.plugins._discovery import (
    INFRASTRUCTURE_GROUP,
    OBSERVER_GROUP,
    STORAGE_GROUP,
    PluginSource,
    find_plugin_sources,
)
from shipway.plugins._errors import (
    PluginBlockedError,
    PluginCollisionError,
    PluginError,
    PluginLoadError,
    PluginNotInstalled,
    UnknownInfrastructureType,
    UnknownPluginType,
    UnknownStorageType,
)
from shipway.plugins._kinds import INFRASTRUCTURE_KIND, KINDS, STORAGE_KIND, PluginKind
from shipway.plugins._policy import PluginPolicy
from shipway.plugins._registry import PluginInfo, PluginRegistry, PluginStatus

__all__ = [
    "FIRST_PARTY_PLUGINS",
    "FIRST_PARTY_STORAGE",
    "INFRASTRUCTURE_GROUP",
    "INFRASTRUCTURE_KIND",
    "KINDS",
    "OBSERVER_GROUP",
    "STORAGE_GROUP",
    "STORAGE_KIND",
    "FirstPartyPlugin",
    "PluginBlockedError",
    "PluginCollisionError",
    "PluginError",
    "PluginInfo",
    "PluginKind",
    "PluginLoadError",
    "PluginNotInstalled",
    "PluginPolicy",
    "PluginRegistry",
    "PluginSource",
    "PluginStatus",
    "UnknownInfrastructureType",
    "UnknownPluginType",
    "UnknownStorageType",
    "find_plugin_sources",
    "first_party_distribution",
    "get_registry",
    "reset_registry",
]

# Not named ``_registry``: that would shadow the submodule shipway.plugins._registry.
_shared_registry: PluginRegistry | None = None


def get_registry() -> PluginRegistry:
    """The process-wide registry, created on first use with the environment's policy."""
    global _shared_registry
    if _shared_registry is None:
        _shared_registry = PluginRegistry()
    return _shared_registry


def reset_registry() -> None:
    """Forget loaded plugins (tests; after changing SHIPWAY_PLUGINS_* variables)."""
    global _shared_registry
    _shared_registry = None
