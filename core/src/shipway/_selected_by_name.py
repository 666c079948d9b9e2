"""The rule every plugin class selected by name follows (infrastructure, storage): its
``type`` field defaults to the name, so the registry, the config and messages agree."""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["check_type_default"]


def check_type_default(cls: Any, example: str) -> None:
    """Raise ``TypeError`` when concrete ``cls`` gives ``type`` no default name (called from
    ``__pydantic_init_subclass__``, so the mistake shows when the plugin is imported)."""
    if inspect.isabstract(cls):
        return
    default = cls.model_fields["type"].default
    if not isinstance(default, str) or not default:
        raise TypeError(
            f"{cls.__module__}.{cls.__qualname__} must give 'type' a default, the name "
            f"it is selected by, e.g.  type: Literal['{example}'] = '{example}'"
        )
