"""shipway-kubernetes: run flow runs as Kubernetes Jobs (``type: kubernetes-job``)."""

from shipway_kubernetes._job import KubernetesJob

__version__ = "0.1.0"

__all__ = ["KubernetesJob", "__version__"]
