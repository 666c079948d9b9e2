"""The labels that tie what a run creates on a platform to its flow run."""

from __future__ import annotations

from shipway.jobs import Job

__all__ = ["run_labels"]


def run_labels(job: Job, prefix: str) -> dict[str, str]:
    """``<prefix>flow-run-id``, ``<prefix>flow`` and, for a deployment's run,
    ``<prefix>deployment``: the labels to put on a run's container, Job or pod, so
    that anyone can find every run of a flow or deployment with the platform's tools.

    ``prefix`` follows the platform's naming rules (Docker: ``io.shipway.``; Kubernetes:
    ``shipway.io/``). The values are the job's own; a platform that restricts label
    values makes them valid itself. Lay them over the user's ``labels``, so a run's own
    labels always describe it::

        labels = {**self.labels, **run_labels(job, "io.shipway.")}
    """
    labels = {f"{prefix}flow-run-id": job.flow_run_id, f"{prefix}flow": job.flow_name}
    if job.deployment_name:
        labels[f"{prefix}deployment"] = job.deployment_name
    return labels
