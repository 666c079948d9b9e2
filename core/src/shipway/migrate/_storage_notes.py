"""What ``shipway migrate`` says about Prefect storage (``storage=`` blocks, the pull
steps of a ``prefect.yaml``) until storage has a translation: the one place a storage
translation replaces, for Python files and YAML files alike."""

from __future__ import annotations

__all__ = ["STORAGE_NOTE", "storage_note"]

STORAGE_NOTE = (
    "shipway runs the flow from the directory of the deployment file, or from an image "
    "that holds the code (docs/plugins/docker-images.md)"
)


def storage_note(what: str) -> str:
    """``storage= has no equivalent in shipway yet (removed): ...``"""
    return f"{what} has no equivalent in shipway yet (removed): {STORAGE_NOTE}"
