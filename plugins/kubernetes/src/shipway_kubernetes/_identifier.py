"""``<cluster uid>:<namespace>:<job name>``: which cluster holds a run, where, and which Job.

The cluster uid is the uid of the ``kube-system`` namespace: stable for the life of a
cluster, and different between clusters even when their API servers share an address.
"""

from __future__ import annotations

import re

from shipway.infrastructure import InfrastructureError

__all__ = ["format_identifier", "parse_identifier"]

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def format_identifier(cluster_uid: str, namespace: str, job_name: str) -> str:
    return f"{cluster_uid}:{namespace}:{job_name}"


def parse_identifier(identifier: str) -> tuple[str, str, str]:
    """(cluster uid, namespace, job name), or an InfrastructureError for anything else."""
    parts = identifier.split(":")
    if len(parts) != 3 or not parts[0] or not all(_DNS_LABEL.match(p) for p in parts[1:]):
        raise InfrastructureError(
            f"{identifier!r} is not a Kubernetes Job identifier "
            "(expected <cluster uid>:<namespace>:<job name>, as `shipway run` reports it)"
        )
    return parts[0], parts[1], parts[2]
