"""``--override KEY=VALUE`` parsing and the merge rules shared with ``overrides:``.

Rules (documented in docs/configuration.md): keys are dotted (``env.FOO``); values
are YAML scalars (``2`` is a number, ``true`` a boolean, ``null`` unsets); an ``env``
value is the exact text given, or a secret reference ``{secret: NAME}``; ``env``
and ``labels`` are merged key by key, every other field is replaced whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from shipway.errors import ConfigError

__all__ = ["MERGED_FIELDS", "merge_overrides", "parse_override_args"]

MERGED_FIELDS = frozenset({"env", "labels"})


def _scalar(text: str) -> Any:
    try:
        value = yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError:
        return text
    return value


def _is_reference(value: Any) -> bool:
    """``{secret: db-password}``: read when the run starts, never stored."""
    return isinstance(value, dict) and set(value) == {"secret"}


def parse_override_args(args: Iterable[str]) -> dict[str, Any]:
    """``["env.FOO=bar", "working_dir=/tmp"]``
    -> ``{"env": {"FOO": "bar"}, "working_dir": "/tmp"}``."""
    result: dict[str, Any] = {}
    for arg in args:
        key, sep, raw = arg.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"--override {arg!r} must look like KEY=VALUE, e.g. env.LOG_LEVEL=debug"
            )
        parts = key.strip().split(".")
        value = _scalar(raw)
        if parts[0] == "env" and len(parts) > 1 and value is not None and not _is_reference(value):
            value = raw  # env values always stay the exact string given
        target = result
        for part in parts[:-1]:
            existing = target.setdefault(part, {})
            if not isinstance(existing, dict):
                raise ConfigError(f"--override {arg!r} conflicts with an earlier --override {part}")
            target = existing
        field = parts[-1]
        if len(parts) == 1 and field in MERGED_FIELDS and isinstance(value, dict):
            # `env.A=1 --override env={B: 2}` keeps A: env merges here as in every layer.
            earlier = target.get(field)
            value = {**earlier, **value} if isinstance(earlier, dict) else value
        target[field] = value
    return result


def merge_overrides(base: Mapping[str, Any], *layers: Mapping[str, Any]) -> dict[str, Any]:
    """Apply override layers in order. A ``None`` value at the top level resets the
    field to its default; inside ``env`` it means "unset this variable in the run"."""
    merged = dict(base)
    for layer in layers:
        for key, value in layer.items():
            if key in MERGED_FIELDS and isinstance(value, Mapping):
                current = merged.get(key) or {}
                if not isinstance(current, Mapping):
                    current = {}
                combined = {**current, **value}
                if key == "labels":  # a label has no "unset" meaning: null removes it
                    combined = {k: v for k, v in combined.items() if v is not None}
                merged[key] = combined
            elif value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
    return merged
