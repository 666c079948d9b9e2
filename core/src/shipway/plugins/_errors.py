from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence

from shipway._first_party import FIRST_PARTY_PLUGINS, FIRST_PARTY_STORAGE
from shipway.errors import ShipwayError

__all__ = [
    "PluginBlockedError",
    "PluginCollisionError",
    "PluginError",
    "PluginLoadError",
    "PluginNotInstalled",
    "UnknownInfrastructureType",
    "UnknownPluginType",
    "UnknownStorageType",
    "did_you_mean",
    "install_hint",
]


def did_you_mean(name: str, choices: Iterable[str]) -> str | None:
    """``"Did you mean 'ssh'?"`` for the choice closest to a misspelled ``name``, if any
    is close enough (``shh`` -> ``ssh``); None otherwise."""
    close = difflib.get_close_matches(name, sorted(set(choices) - {name}), n=1, cutoff=0.6)
    return f"Did you mean {close[0]!r}?" if close else None


def install_hint(type_name: str) -> str | None:
    known = FIRST_PARTY_PLUGINS.get(type_name) or FIRST_PARTY_STORAGE.get(type_name)
    if known is None:
        return None
    return (
        f"'{type_name}' is provided by {known.distribution}. Install it with: "
        f"shipway plugins install {known.distribution}  (or: pip install {known.distribution})"
    )


class PluginError(ShipwayError):
    """A plugin could not provide what was asked of it."""


class UnknownPluginType(PluginError):
    """No installed plugin provides a type name (of ``kind``: infrastructure, storage)."""

    kind = "plugin"
    first_party: Mapping[str, object] = {}
    """The first-party type names of this kind (suggested for a misspelled one)."""

    def __init__(self, name: str, installed: Sequence[str], *, blocks: Sequence[str] = ()) -> None:
        self.name = name
        self.installed = list(installed)
        self.blocks = list(blocks)
        kind = self.kind
        lines = [f"unknown {kind} {name!r}."]
        suggestion = did_you_mean(name, [*installed, *blocks, *self.first_party])
        if suggestion:
            lines.append(suggestion)
        if blocks:
            lines.append(f"{kind.capitalize()} blocks defined in the file: {', '.join(blocks)}.")
        lines.append(
            f"Installed {kind} types: {', '.join(installed)}."
            if installed
            else f"No {kind} plugin is installed."
        )
        hint = install_hint(name) or (
            "Pick one of the names above, or install the plugin that provides it: "
            "shipway plugins install <distribution>  (`shipway plugins` lists what is installed)."
        )
        super().__init__(" ".join(lines), hint=hint)


class UnknownInfrastructureType(UnknownPluginType):
    kind = "infrastructure"
    first_party = FIRST_PARTY_PLUGINS


class UnknownStorageType(UnknownPluginType):
    kind = "storage"
    first_party = FIRST_PARTY_STORAGE


class PluginCollisionError(PluginError):
    def __init__(self, name: str, claimants: Iterable[str], kind: str = "infrastructure") -> None:
        self.name = name
        self.claimants = sorted(claimants)
        super().__init__(
            f"{kind} type {name!r} is claimed by more than one distribution: "
            f"{' and '.join(self.claimants)}.",
            hint="Uninstall one of them, or block one with SHIPWAY_PLUGINS_BLOCK=<distribution>.",
        )


class PluginLoadError(PluginError):
    def __init__(
        self, name: str, origin: str, exc: BaseException | str, *, suggestion: str | None = None
    ) -> None:
        self.name = name
        self.reason = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        message = f"plugin {name!r} ({origin}) failed to load: {self.reason}"
        super().__init__(
            f"{message}. {suggestion}" if suggestion else message,
            hint="Reinstall or upgrade that plugin, block it with SHIPWAY_PLUGINS_BLOCK, "
            "or run with --debug for the traceback.",
        )


class PluginBlockedError(PluginError):
    pass


class PluginNotInstalled(ImportError):
    """``from shipway.infrastructure import X`` where no installed plugin provides X."""
