"""The Job manifest as YAML, as ``kubectl apply -f`` would take it, secrets masked."""

from __future__ import annotations

from typing import Any

import yaml

from shipway.infrastructure import mask

__all__ = ["manifest_yaml"]


def manifest_yaml(manifest: dict[str, Any]) -> str:
    """Plain values of secret-named variables (``*_TOKEN``, ``PASSWORD``...) and URL
    passwords are masked (``shipway.infrastructure.mask``); ``valueFrom`` references are shown
    (they name a Secret, not its content). Cluster credentials are never part of a manifest."""
    return yaml.safe_dump(mask(manifest), sort_keys=False, default_flow_style=False, width=100)
