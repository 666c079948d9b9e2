"""Options Prefect's ``@flow`` and ``@task`` take that shipway does not: each is an
error naming the option and what to do, never silently ignored."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["reject_unsupported"]

_NO_RESULTS = (
    "shipway keeps no return values: remove it, and write results where you need them "
    "(a file, a table)"
)
_NO_CACHE = "shipway does not cache task results: remove it"
_NO_HOOKS = (
    "run code on state changes with a plugin's shipway_flow_run_state_changed hook "
    "(docs/hooks.md), or with try/except in the flow: remove it"
)
_ADVICE = {
    "task_runner": "submitted tasks run on a thread pool of the flow run "
    "(SHIPWAY_TASK_WORKERS sets its size): remove it",
    "persist_result": _NO_RESULTS,
    "result_storage": _NO_RESULTS,
    "result_serializer": _NO_RESULTS,
    "result_storage_key": _NO_RESULTS,
    "cache_result_in_memory": _NO_RESULTS,
    "cache_key_fn": _NO_CACHE,
    "cache_expiration": _NO_CACHE,
    "refresh_cache": _NO_CACHE,
    "flow_run_name": "runs are named by their id: remove it",
    "task_run_name": "task runs have no names of their own: remove it",
    "on_completion": _NO_HOOKS,
    "on_failure": _NO_HOOKS,
    "on_crashed": _NO_HOOKS,
    "on_cancellation": _NO_HOOKS,
    "on_running": _NO_HOOKS,
    "retry_jitter_factor": "retry delays are exact: remove it (give retry_delay_seconds "
    "a list for growing delays)",
    "retry_condition_fn": "every exception is retried: remove it",
    "viz_return_value": "remove it",
}


def reject_unsupported(what: str, options: Mapping[str, Any], accepted: str) -> None:
    """Raise ``TypeError`` for ``options`` (the keywords left over), one line each."""
    if not options:
        return
    lines = [
        f"{name}= is not supported: {_ADVICE.get(name, f'{what} takes {accepted}')}"
        for name in options
    ]
    if len(lines) == 1:
        raise TypeError(f"{what}: {lines[0]}")
    raise TypeError(f"{what}:\n  - " + "\n  - ".join(lines))
