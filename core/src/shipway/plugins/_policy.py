"""Which plugins may load, decided by environment variables."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping

from shipway.environment import flag_is_set
from shipway.plugins._discovery import PluginSource

__all__ = ["PluginPolicy"]

DISABLE_VAR = "SHIPWAY_DISABLE_PLUGINS"
ALLOW_VAR = "SHIPWAY_PLUGINS_ALLOW"
BLOCK_VAR = "SHIPWAY_PLUGINS_BLOCK"
STRICT_VAR = "SHIPWAY_PLUGINS_STRICT"

def _normalize(name: str) -> str:
    """Compare names the way pip does: ``Acme_Plugin`` and ``acme-plugin`` are one name."""
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def _names(value: str | None) -> frozenset[str]:
    return frozenset(_normalize(part) for part in (value or "").split(",") if part.strip())


@dataclasses.dataclass(frozen=True)
class PluginPolicy:
    """``SHIPWAY_DISABLE_PLUGINS=1`` loads no entry-point plugin at all (the kill switch);
    ``SHIPWAY_PLUGINS_ALLOW`` / ``SHIPWAY_PLUGINS_BLOCK`` take comma-separated type or
    distribution names; ``SHIPWAY_PLUGINS_STRICT=1`` turns every load failure into an error
    (for plugin development)."""

    disabled: bool = False
    allow: frozenset[str] | None = None
    block: frozenset[str] = frozenset()
    strict: bool = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> PluginPolicy:
        env = os.environ if environ is None else environ
        allow = _names(env.get(ALLOW_VAR))
        return cls(
            disabled=flag_is_set(DISABLE_VAR, env),
            allow=allow or None,
            block=_names(env.get(BLOCK_VAR)),
            strict=flag_is_set(STRICT_VAR, env),
        )

    def blocked_reason(self, source: PluginSource) -> str | None:
        """Why ``source`` may not load, or ``None`` if it may."""
        keys = {_normalize(source.name), _normalize(source.distribution)}
        if self.disabled:
            return f"all plugins are disabled by {DISABLE_VAR}"
        if keys & self.block:
            return f"blocked by {BLOCK_VAR}"
        if self.allow is not None and not keys & self.allow:
            return f"not in {ALLOW_VAR}"
        return None
