"""``SHIPWAY_TRACE_HOOKS=1``: print every hook call, its arguments and its result to stderr."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

import pluggy

from shipway.environment import flag_is_set

__all__ = ["TRACE_VAR", "HookTracer"]

TRACE_VAR = "SHIPWAY_TRACE_HOOKS"

_PREFIX = "shipway: "
_MAX_VALUE_CHARS = 2000


class HookTracer:
    """Writes one line per hook call and one per result (or exception), naming the plugin.

    The registry calls implementations one at a time (so one failing observer cannot
    silence the others), which pluggy's own monitoring would not see: it calls
    :meth:`call` and :meth:`returned` itself. :meth:`monitor` covers ``pm.hook.*`` calls.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream  # None: sys.stderr as it is when writing (pytest swaps it)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> HookTracer | None:
        env = os.environ if environ is None else environ
        return cls() if flag_is_set(TRACE_VAR, env) else None

    def call(self, hook_name: str, plugin: str, arguments: Mapping[str, Any]) -> None:
        shown = ", ".join(f"{name}={_show(value)}" for name, value in arguments.items())
        self._write(f"hook {hook_name}({shown}) [plugin {plugin}]")

    def returned(self, hook_name: str, plugin: str, result: Any) -> None:
        self._write(f"hook {hook_name} -> {_show(result)} [plugin {plugin}]")

    def raised(self, hook_name: str, plugin: str, exc: BaseException) -> None:
        self._write(f"hook {hook_name} raised {type(exc).__name__}: {exc} [plugin {plugin}]")

    def note(self, message: str) -> None:
        self._write(message)

    def monitor(self, pm: pluggy.PluginManager) -> None:
        """Trace calls made through ``pm.hook.*`` too (all implementations at once)."""

        def before(
            hook_name: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]
        ) -> None:
            self.call(hook_name, _plugins(pm, impls), kwargs)

        def after(
            outcome: pluggy.Result[Any],
            hook_name: str,
            impls: Sequence[pluggy.HookImpl],
            kwargs: Mapping[str, Any],
        ) -> None:
            if outcome.exception is not None:
                self.raised(hook_name, _plugins(pm, impls), outcome.exception)
            else:
                self.returned(hook_name, _plugins(pm, impls), outcome.get_result())

        pm.add_hookcall_monitoring(before, after)

    def _write(self, line: str) -> None:
        stream = self._stream or sys.stderr
        stream.write(f"{_PREFIX}{line}\n")
        stream.flush()


def _plugins(pm: pluggy.PluginManager, impls: Sequence[pluggy.HookImpl]) -> str:
    return ", ".join(pm.get_name(impl.plugin) or repr(impl.plugin) for impl in impls) or "none"


def _show(value: Any) -> str:
    """``repr`` with secrets masked (an infrastructure's, and what a
    ``shipway_job_submitting`` hook adds: a plugin injecting credentials is the usual
    reason to write one), cut short if very long."""
    from shipway.infrastructure import Infrastructure, Job, JobAdditions, mask_secrets
    from shipway.secrets import mask, secret_values

    hidden: set[str] = set()
    if isinstance(value, Infrastructure):
        hidden = secret_values(value.model_dump())
        value = value.model_copy(update={"env": mask_secrets(value.env)})
    elif isinstance(value, JobAdditions):
        hidden = secret_values({"env": value.env})
        masked = {key: text or "" for key, text in mask_secrets(value.env).items()}
        value = dataclasses.replace(value, env=masked)
    elif isinstance(value, Job) and value.storage:  # the block's secrets, revealed for the run
        hidden = _secret_named_values(value.storage)
    text = mask(repr(value), hide=hidden)
    if len(text) > _MAX_VALUE_CHARS:
        text = f"{text[:_MAX_VALUE_CHARS]}... ({len(text)} characters)"
    return text


def _secret_named_values(block: Any) -> set[str]:
    """The string values under secret names (``settings.secret``) anywhere in ``block``."""
    from shipway.secrets import is_secret_name

    found: set[str] = set()
    if isinstance(block, dict):
        for key, item in block.items():
            if isinstance(item, str) and is_secret_name(str(key)):
                found.add(item)
            else:
                found |= _secret_named_values(item)
    return found
