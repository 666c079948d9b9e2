"""The Job manifest as YAML, as ``kubectl apply -f`` would take it, secrets masked."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from shipway.infrastructure import mask_secrets

__all__ = ["manifest_yaml"]


def manifest_yaml(manifest: dict[str, Any]) -> str:
    """Plain values of secret-looking variables (``*_TOKEN``, ``PASSWORD``...) are
    masked; ``valueFrom`` references are shown (they name a Secret, not its content).
    Cluster credentials are never part of a manifest."""
    shown = copy.deepcopy(manifest)
    pod = shown.get("spec", {}).get("template", {}).get("spec", {})
    for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
        for item in container.get("env") or []:
            if isinstance(item, dict) and isinstance(item.get("value"), str):
                item["value"] = mask_secrets({str(item.get("name")): item["value"]})[
                    str(item.get("name"))
                ]
    return yaml.safe_dump(shown, sort_keys=False, default_flow_style=False, width=100)
