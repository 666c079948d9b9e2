"""shipway: run Python workflow functions on pluggable infrastructure.

Only :func:`flow` is imported eagerly, so a flow module starts fast; the rest
loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shipway._version import __version__
from shipway.flows import Flow, flow

if TYPE_CHECKING:
    from shipway._markers import hookimpl
    from shipway.deployments import Deployment

__all__ = ["Deployment", "Flow", "__version__", "flow", "hookimpl"]


def __getattr__(name: str) -> Any:
    if name == "Deployment":
        from shipway.deployments import Deployment

        return Deployment
    if name == "hookimpl":  # lazily: plugin modules need it, flow modules do not
        from shipway._markers import hookimpl

        return hookimpl
    raise AttributeError(f"module 'shipway' has no attribute {name!r}")
