"""shipway: run Python workflow functions on pluggable infrastructure.

Names load on first use, so ``shipway --help`` and flow modules start fast.
"""

from __future__ import annotations

from shipway._version import __version__

TYPE_CHECKING = False  # not typing's: importing typing costs `shipway --help` a tenth

if TYPE_CHECKING:
    from typing import Any

    from shipway._markers import hookimpl
    from shipway.deployments import Deployment
    from shipway.flows import Flow, flow
    from shipway.run_logger import get_run_logger
    from shipway.secrets import SecretRef
    from shipway.tasks import Task, task, unmapped

__all__ = [
    "Deployment",
    "Flow",
    "SecretRef",
    "Task",
    "__version__",
    "flow",
    "get_run_logger",
    "hookimpl",
    "task",
    "unmapped",
]

_LAZY = {
    "Deployment": "shipway.deployments",
    "Flow": "shipway.flows",
    "SecretRef": "shipway.secrets",
    "Task": "shipway.tasks",
    "flow": "shipway.flows",
    "get_run_logger": "shipway.run_logger",
    "hookimpl": "shipway._markers",
    "task": "shipway.tasks",
    "unmapped": "shipway.tasks",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'shipway' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
