"""One connection per cluster and identity, shared by the runs of an event loop.

Each run used to connect on its own (load the kubeconfig, a TLS context, a connection
pool, a request to identify the cluster). An agent following hundreds of runs keeps one
:class:`Cluster` per ``(kubeconfig, context, in_cluster)`` instead: made by the first run
that needs it, closed when the last one is done with it. A failed connection is reported
to every run waiting for it, and tried afresh by the next run once they are gone.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from anyio.lowlevel import RunVar

from shipway_kubernetes._cluster import Cluster, connect
from shipway_kubernetes._limits import API_CALLS, LOG_STREAMS, api_call

__all__ = ["POOL_SIZE", "shared_cluster"]

POOL_SIZE = API_CALLS + LOG_STREAMS + 4
"""Connections kept per cluster: every API call, log stream and watch that can be under
way at once (more would be opened and thrown away after each request)."""

Key = tuple[str | None, str | None, bool | None, str | None]


@dataclass
class _Shared:
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    cluster: Cluster | None = None
    error: BaseException | None = None
    users: int = 0


_clusters: RunVar[dict[Key, _Shared]] = RunVar("shipway_kubernetes_clusters")


def _registry() -> dict[Key, _Shared]:
    try:
        return _clusters.get()
    except LookupError:
        registry: dict[Key, _Shared] = {}
        _clusters.set(registry)
        return registry


def _connect_pooled(
    kubeconfig: Path | None, context: str | None, in_cluster: bool | None
) -> Cluster:
    return connect(kubeconfig, context, in_cluster, pool_size=POOL_SIZE)


@contextlib.asynccontextmanager
async def shared_cluster(
    kubeconfig: Path | None, context: str | None, in_cluster: bool | None
) -> AsyncIterator[Cluster]:
    """The connected cluster for these settings, shared while the block runs."""
    # KUBECONFIG is part of the key: without a kubeconfig field it decides the cluster.
    key: Key = (
        str(kubeconfig) if kubeconfig else None,
        context,
        in_cluster,
        os.environ.get("KUBECONFIG"),
    )
    registry = _registry()
    shared = registry.setdefault(key, _Shared())
    shared.users += 1
    try:
        async with shared.lock:
            if shared.error is not None:
                raise shared.error
            if shared.cluster is None:
                try:
                    # Abandoned on cancellation: a silent cluster must not hold up Ctrl-C.
                    shared.cluster = await api_call(
                        _connect_pooled, kubeconfig, context, in_cluster, abandon_on_cancel=True
                    )
                except Exception as exc:
                    shared.error = exc
                    raise
        yield shared.cluster
    finally:
        shared.users -= 1
        if shared.users == 0:
            if registry.get(key) is shared:
                del registry[key]
            if shared.cluster is not None:
                shared.cluster.close()
