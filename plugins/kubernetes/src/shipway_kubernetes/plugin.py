"""The module the ``kubernetes-job`` entry point names: shipway loads it only when a
deployment selects ``kubernetes-job`` (or when listing plugins). The Kubernetes client
itself is imported later, when a run talks to a cluster."""

from __future__ import annotations

from collections.abc import Sequence

from shipway import hookimpl
from shipway.infrastructure import Infrastructure
from shipway_kubernetes._job import KubernetesJob


@hookimpl
def shipway_infrastructure_types() -> Sequence[type[Infrastructure]]:
    return [KubernetesJob]
