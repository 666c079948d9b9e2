"""A model as JSON values with its secrets kept: what the store gets to encrypt."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SecretStr

__all__ = ["dump_keeping_secrets"]


def dump_keeping_secrets(model: BaseModel) -> dict[str, Any]:
    """``model.model_dump(mode="json")``, except that ``SecretStr`` values stay
    ``SecretStr`` instead of becoming the text ``**********``: whoever stores the result
    keeps the real value (encrypted) and every display still masks it."""
    dumped: dict[str, Any] = _keep_secrets(
        model.model_dump(mode="python"), model.model_dump(mode="json")
    )
    return dumped


def _keep_secrets(python: Any, json: Any) -> Any:
    """Walk both dumps side by side; take the JSON value except where the Python one is
    a secret."""
    if isinstance(python, SecretStr):
        return python
    if isinstance(json, dict) and isinstance(python, dict):
        return {key: _keep_secrets(python.get(key), value) for key, value in json.items()}
    if isinstance(json, list) and isinstance(python, (list, tuple)) and len(json) == len(python):
        return [_keep_secrets(p, j) for p, j in zip(python, json, strict=True)]
    return json
