"""The infrastructure contract, and every name a plugin author needs from the core.

Plugin classes are also importable here (``from shipway.infrastructure import
Process``): the name is resolved through the plugin registry, so it works exactly
when the plugin that provides it is installed.
"""

from __future__ import annotations

from typing import Any

from shipway.infrastructure._base import (
    ENGINE_MODULE,
    JOB_ENV_MAX_BYTES,
    EnvValue,
    Infrastructure,
    mask_secrets,
)
from shipway.infrastructure._capabilities import (
    BuildsImages,
    ImageBuildRequest,
    ReattachesRuns,
    default_runtime_image,
)
from shipway.infrastructure._errors import (
    InfrastructureError,
    InfrastructureNotAvailable,
    InfrastructureNotFound,
    InfrastructureUnreachable,
)
from shipway.infrastructure._hooks import JobAdditions
from shipway.infrastructure._labels import run_labels
from shipway.infrastructure._output import (
    LineSplitter,
    MaskedSink,
    OutputSink,
    StreamName,
    TerminalSink,
    current_output_sink,
    output_sink,
)
from shipway.infrastructure._result import InfrastructureResult, describe_exit_code
from shipway.infrastructure._secrets import RunSecrets, resolve_secrets
from shipway.jobs import EXIT_STATUS_FILE_VAR, JOB_ENV_VAR, JOB_FILE_ENV_VAR, Job
from shipway.secrets import SecretRef, mask, without_shipway_secrets

__all__ = [
    "ENGINE_MODULE",
    "EXIT_STATUS_FILE_VAR",
    "JOB_ENV_MAX_BYTES",
    "JOB_ENV_VAR",
    "JOB_FILE_ENV_VAR",
    "BuildsImages",
    "EnvValue",
    "ImageBuildRequest",
    "Infrastructure",
    "InfrastructureError",
    "InfrastructureNotAvailable",
    "InfrastructureNotFound",
    "InfrastructureResult",
    "InfrastructureUnreachable",
    "Job",
    "JobAdditions",
    "LineSplitter",
    "MaskedSink",
    "OutputSink",
    "ReattachesRuns",
    "RunSecrets",
    "SecretRef",
    "StreamName",
    "TerminalSink",
    "current_output_sink",
    "default_runtime_image",
    "describe_exit_code",
    "mask",
    "mask_secrets",
    "output_sink",
    "resolve_secrets",
    "run_labels",
    "without_shipway_secrets",
]


def __getattr__(name: str) -> Any:
    """Resolve plugin classes (``Process``, ``DockerContainer``...) through the registry."""
    if not name[:1].isupper():  # plugin classes are CapWords; keep hasattr() cheap and honest
        raise AttributeError(f"module 'shipway.infrastructure' has no attribute {name!r}")
    from shipway.plugins import get_registry

    return get_registry().infrastructure_class_by_class_name(name)
