"""Find plugins through entry points without importing them."""

from __future__ import annotations

import dataclasses
import os
import sys
from importlib.metadata import EntryPoint, EntryPoints, entry_points
from typing import Protocol

__all__ = [
    "INFRASTRUCTURE_GROUP",
    "OBSERVER_GROUP",
    "STORAGE_GROUP",
    "PluginSource",
    "find_plugin_sources",
]

INFRASTRUCTURE_GROUP = "shipway.infrastructure"
"""Entry point name = infrastructure type name; value = the module with the hookimpls."""

STORAGE_GROUP = "shipway.storage"
"""Entry point name = storage type name; value = the module with the hookimpls."""

OBSERVER_GROUP = "shipway.plugins"
"""Plugins that only observe (state changes, submissions); all are loaded for a run."""


@dataclasses.dataclass(frozen=True)
class PluginSource:
    """One entry point, with the distribution that declared it."""

    name: str
    group: str
    module: str
    distribution: str
    version: str
    entry_point: EntryPoint = dataclasses.field(compare=False, repr=False)

    @property
    def origin(self) -> str:
        return f"{self.distribution} {self.version}, module {self.module}"


def find_plugin_sources(group: str, name: str | None = None) -> list[PluginSource]:
    """Entry points of ``group`` (only ``name`` if given), de-duplicated, sorted by name."""
    found = _installed_entry_points()
    selected = found.select(group=group, name=name) if name else found.select(group=group)
    seen: set[tuple[str, str, str]] = set()
    sources: list[PluginSource] = []
    for ep in selected:
        dist = ep.dist
        dist_name = dist.name if dist is not None else "<unknown distribution>"
        key = (ep.name, dist_name.lower().replace("_", "-"), ep.value)
        if key in seen:  # the same distribution found twice on sys.path
            continue
        seen.add(key)
        sources.append(
            PluginSource(
                name=ep.name,
                group=group,
                module=ep.value,
                distribution=dist_name,
                version=dist.version if dist is not None else "?",
                entry_point=ep,
            )
        )
    return sorted(sources, key=lambda source: (source.name, source.distribution))


class _Selectable(Protocol):
    """What ``entry_points()`` returns: ``EntryPoints``, or on Python < 3.12 the groups."""

    def select(self, *, name: str = ..., group: str = ...) -> EntryPoints: ...


_scanned: tuple[tuple[tuple[str, int], ...], _Selectable] | None = None


def _installed_entry_points() -> _Selectable:
    """Every installed entry point, read once per process: reading them means opening a
    file of every installed distribution, and a run asks for two groups. Read again
    when ``sys.path`` or one of its folders changed (a plugin installed meanwhile)."""
    global _scanned
    key = tuple((entry, _mtime_ns(entry)) for entry in sys.path)
    if _scanned is None or _scanned[0] != key:
        _scanned = (key, entry_points())
    return _scanned[1]


def _mtime_ns(path: str) -> int:
    try:
        return os.stat(path or ".").st_mtime_ns
    except OSError:
        return -1
