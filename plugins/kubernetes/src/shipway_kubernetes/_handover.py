"""How a job too large for an environment variable reaches the engine on Kubernetes.

A Secret of its own holds the job, gzip-compressed (a Secret holds at most 1 MiB); it is
created right after the Job, owned by it (so the cluster deletes it with the Job), and
mounted read-only into the flow's container, where ``SHIPWAY_FLOW_RUN_FILE`` names it.
A Secret, not a ConfigMap: parameters may be secret.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Mapping
from typing import Any

__all__ = [
    "JOB_FILE_PATH",
    "SECRET_MAX_BYTES",
    "compress_job",
    "job_secret_manifest",
    "job_secret_name",
    "mount_job_secret",
]

JOB_VOLUME = "shipway-job"
JOB_FILE_DIRECTORY = "/var/run/shipway/job"
JOB_FILE_KEY = "job.json.gz"
JOB_FILE_PATH = f"{JOB_FILE_DIRECTORY}/{JOB_FILE_KEY}"
SECRET_MAX_BYTES = 1024 * 1024
"""The most a Secret's data may hold: the API server refuses a larger one."""


def compress_job(content: bytes) -> bytes:
    """The job file's content as the Secret holds it (the same bytes for the same job)."""
    return gzip.compress(content, mtime=0)


def job_secret_name(job_name: str) -> str:
    """The Secret that holds a large job for the Job ``job_name``."""
    return f"{job_name}-job"


def job_secret_manifest(
    job_manifest: Mapping[str, Any], job_uid: str, compressed_job: bytes
) -> dict[str, Any]:
    """The Secret holding a large job (gzip), owned by its Job (whose labels it
    carries): the cluster deletes it with the Job."""
    metadata = job_manifest["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": job_secret_name(metadata["name"]),
            "namespace": metadata["namespace"],
            "labels": dict(metadata.get("labels") or {}),
            "ownerReferences": [
                {"apiVersion": "batch/v1", "kind": "Job", "name": metadata["name"], "uid": job_uid}
            ],
        },
        "data": {JOB_FILE_KEY: base64.b64encode(compressed_job).decode("ascii")},
    }


def mount_job_secret(pod: dict[str, Any], container: dict[str, Any], secret: str) -> None:
    """The volume of the large job's Secret, mounted read-only in the flow's container
    (replacing a base manifest's volume or mount of the same name). ValueError when the
    base manifest's volumes or mounts are not lists."""
    volumes = pod.get("volumes") or []
    mounts = container.get("volumeMounts") or []
    if not isinstance(volumes, list) or not isinstance(mounts, list):
        raise ValueError("job: volumes and volumeMounts must be lists")
    pod["volumes"] = [
        v for v in volumes if not (isinstance(v, dict) and v.get("name") == JOB_VOLUME)
    ]
    pod["volumes"].append({"name": JOB_VOLUME, "secret": {"secretName": secret}})
    container["volumeMounts"] = [
        m for m in mounts if not (isinstance(m, dict) and m.get("name") == JOB_VOLUME)
    ]
    container["volumeMounts"].append(
        {"name": JOB_VOLUME, "mountPath": JOB_FILE_DIRECTORY, "readOnly": True}
    )
