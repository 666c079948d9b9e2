"""From a stored flow run to what the infrastructure needs: the instance and the job."""

from __future__ import annotations

from pydantic import ValidationError

from shipway.deployments import merge_overrides, problems_on_one_line
from shipway.errors import ConfigError, ParameterError
from shipway.infrastructure import Infrastructure
from shipway.jobs import Job, JobFormatError
from shipway.plugins import PluginRegistry
from shipway.store import FlowRunRecord

__all__ = ["build_submission"]


def build_submission(
    record: FlowRunRecord, registry: PluginRegistry
) -> tuple[Infrastructure, Job]:
    """The run's infrastructure (the deployment's, with the run's overrides merged as
    ``shipway run --override`` merges them) and its job. Raises a ``ShipwayError``
    saying what is wrong; nothing is started."""
    data = dict(record.infrastructure)
    type_name = data.get("type")
    if not isinstance(type_name, str) or not type_name:
        raise ConfigError(
            f"deployment {record.deployment_name!r} has no infrastructure type",
            hint="Set 'infrastructure' on the deployment and apply it again.",
        )
    cls = registry.resolve(type_name)
    overrides = dict(record.overrides or {})
    wanted = overrides.get("type")
    if wanted is not None and wanted != cls.type_name():
        raise ConfigError(
            f"overrides cannot change the infrastructure type from {cls.type_name()!r} "
            f"to {wanted!r}"
        )
    merged = merge_overrides(data, overrides)
    merged["type"] = cls.type_name()
    try:
        infrastructure = cls.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(
            f"invalid {cls.type_name()} infrastructure for deployment "
            f"{record.deployment_name!r}: {problems_on_one_line(exc)}"
        ) from None
    try:
        job = Job(
            entrypoint=record.entrypoint,
            parameters=record.parameters,
            flow_run_id=record.id,
            flow_name=record.flow_name,
            deployment_name=record.deployment_name,
            working_dir=record.working_dir,
        )
    except JobFormatError as exc:
        raise ParameterError(str(exc)) from None
    return infrastructure, job
