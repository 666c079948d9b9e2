"""The Kubernetes plugin keeps the whole infrastructure contract (shipway.testing's suite),
against the real control plane (or a real cluster: see _kube_stack.py).

The standard flows ship inside the ``shipway`` package of the runtime image; the Jobs
change into that directory (see _kube_jobs.py), so the image's default FlowJobs work.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable
from typing import ClassVar

import pytest
from _kube_jobs import kube_job
from _kube_stack import KubeCluster

from shipway.infrastructure import Infrastructure
from shipway.testing import FlowJobs, InfrastructureConformance
from shipway_kubernetes import KubernetesJob

pytestmark = pytest.mark.real_cluster


class TestKubernetesConformance(InfrastructureConformance):
    streams_are_separate: ClassVar[bool] = False  # a pod has one log, stdout and stderr merged
    first_line_timeout_seconds: ClassVar[float] = 120.0  # a pod is scheduled, then started

    @pytest.fixture
    def infrastructure(
        self, kube_cluster: KubeCluster, kube_namespace: str, runtime_image: str
    ) -> KubernetesJob:
        self.cluster = kube_cluster
        return kube_job(kube_cluster, kube_namespace, runtime_image)

    @pytest.fixture
    def flow_jobs(self) -> FlowJobs:
        return FlowJobs()  # the container's working directory (see the module docstring)

    def platform_snapshot(self, infrastructure: Infrastructure) -> Collection[Hashable]:
        """The Jobs and pods in the test's namespace."""
        assert isinstance(infrastructure, KubernetesJob)
        namespace = infrastructure.namespace
        jobs = self.cluster.batch().list_namespaced_job(namespace).items
        pods = self.cluster.core().list_namespaced_pod(namespace).items
        return {f"job/{j.metadata.name}" for j in jobs} | {f"pod/{p.metadata.name}" for p in pods}
