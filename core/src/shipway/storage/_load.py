"""From a storage block (its fields, with ``type``) to a validated :class:`Storage`, and
the engine's step that pulls a run's code before the flow is imported."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from shipway.errors import ConfigError
from shipway.jobs import Job
from shipway.plugins import (
    PluginError,
    PluginRegistry,
    UnknownStorageType,
    first_party_distribution,
    get_registry,
)
from shipway.pulled_code import record_pulled
from shipway.secrets import mask
from shipway.storage._base import Storage
from shipway.storage._cache import PullCache
from shipway.storage._errors import StorageError

__all__ = ["load_storage", "pull_job_code"]


def load_storage(block: Mapping[str, Any], *, registry: PluginRegistry | None = None) -> Storage:
    """The storage a block describes: its ``type`` resolved through the registry (only
    that plugin loads), its fields validated."""
    type_name = block.get("type")
    if not isinstance(type_name, str):
        raise ConfigError("a storage block needs a 'type' (e.g. type: git-repository)")
    cls = (registry or get_registry()).resolve_storage(type_name)
    try:
        return cls.model_validate(dict(block))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'storage'}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigError(mask(f"invalid {type_name} storage: {problems}")) from None


def pull_job_code(job: Job, cache: PullCache | None = None) -> Job:
    """The job with its code pulled: ``working_dir`` becomes the pulled project. A job
    without storage is returned as it is (its code is where ``working_dir`` says)."""
    if job.storage is None:
        return job
    try:
        storage = load_storage(job.storage)
    except UnknownStorageType as exc:  # the image or machine lacks the plugin
        installed = ", ".join(exc.installed) or "none"
        distribution = first_party_distribution(exc.name)
        package = distribution or "the plugin that provides it"
        raise StorageError(
            exc.name,
            job.storage_ref,
            f"this storage type is not installed where the run executes "
            f"(installed storage types: {installed})",
            hint=f"Install {package} there; for an image made by `shipway image build`, "
            f"build it again with --with {distribution or '<distribution>'}.",
        ) from None
    except PluginError as exc:  # blocked or broken here
        raise StorageError(
            str(job.storage.get("type")), job.storage_ref, exc.message, hint=exc.hint
        ) from None
    if not job.storage_ref:
        raise StorageError(
            storage.describe(),
            None,
            "the deployment has storage but no pushed ref",
            hint="Push its code with `shipway deployment push NAME` (or apply it again).",
        )
    cache = cache or PullCache.from_environment()
    pulled = cache.pull(storage, job.storage_ref)
    record_pulled(cache.root, job.storage, job.storage_ref, pulled)  # the next run's shortcut
    return job.replace(working_dir=str(pulled))
