"""Options Prefect's ``@flow`` and ``@task`` take that shipway does not: each is an
error naming the option and what to do, never silently ignored."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["FLOW_OPTIONS", "TASK_OPTIONS", "advice", "reason", "reject_unsupported"]

FLOW_OPTIONS = (
    "name", "description", "version", "retries", "retry_delay_seconds", "timeout_seconds",
    "log_prints", "validate_parameters",
)  # fmt: skip
TASK_OPTIONS = (
    "name", "description", "tags", "version", "retries", "retry_delay_seconds",
    "timeout_seconds", "log_prints",
)  # fmt: skip

_NO_RESULTS = "shipway keeps no return values; write results where you need them"
_NO_CACHE = "shipway does not cache task results"
_NO_HOOKS = (
    "run code on state changes with a plugin's shipway_flow_run_state_changed hook "
    "(docs/hooks.md), or with try/except in the flow"
)
_REASONS = {
    "task_runner": "submitted tasks run on a thread pool of the flow run "
    "(SHIPWAY_TASK_WORKERS sets its size; 1 runs them one at a time)",
    "persist_result": _NO_RESULTS,
    "result_storage": _NO_RESULTS,
    "result_serializer": _NO_RESULTS,
    "result_storage_key": _NO_RESULTS,
    "cache_result_in_memory": _NO_RESULTS,
    "cache_key_fn": _NO_CACHE,
    "cache_expiration": _NO_CACHE,
    "refresh_cache": _NO_CACHE,
    "flow_run_name": "runs are named by their id",
    "task_run_name": "task runs have no names of their own",
    "on_completion": _NO_HOOKS,
    "on_failure": _NO_HOOKS,
    "on_crashed": _NO_HOOKS,
    "on_cancellation": _NO_HOOKS,
    "on_running": _NO_HOOKS,
    "retry_jitter_factor": "retry delays are exact (give retry_delay_seconds a list for "
    "growing delays)",
    "retry_condition_fn": "every exception is retried",
    "viz_return_value": "shipway draws no task graphs",
}


def reason(option: str, what: str, accepted: tuple[str, ...]) -> str:
    """Why ``option`` is not supported, and what to use instead."""
    return _REASONS.get(option, f"{what} takes {', '.join(accepted)}")


def advice(option: str, what: str, accepted: tuple[str, ...]) -> str:
    """``persist_result= is not supported (shipway keeps no return values; ...): remove it``"""
    return f"{option}= is not supported ({reason(option, what, accepted)}): remove it"


def reject_unsupported(what: str, options: Mapping[str, Any], accepted: tuple[str, ...]) -> None:
    """Raise ``TypeError`` for ``options`` (the keywords left over), one line each."""
    if not options:
        return
    lines = [advice(name, what, accepted) for name in options]
    if len(lines) == 1:
        raise TypeError(f"{what}: {lines[0]}")
    raise TypeError(f"{what}:\n  - " + "\n  - ".join(lines))
