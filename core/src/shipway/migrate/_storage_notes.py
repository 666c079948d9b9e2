"""What ``shipway migrate`` says where it removes Prefect storage (``storage=`` blocks, the
pull steps of a ``prefect.yaml``), for Python files and YAML files alike. The storage
blocks themselves get a note with their shipway ``storage:`` block (``_storage``)."""

from __future__ import annotations

__all__ = ["STORAGE_NOTE", "storage_note"]

STORAGE_NOTE = (
    "shipway selects storage by name, in a storage: block of shipway.yaml and the "
    "deployment's storage: field (docs/storage.md); without one it runs the flow from the "
    "directory of the deployment file"
)


def storage_note(what: str) -> str:
    """``storage= is not carried over (removed): ...``"""
    return f"{what} is not carried over (removed): {STORAGE_NOTE}"
