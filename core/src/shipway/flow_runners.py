"""The flow runners of the Prefect 2.0 betas, kept so that old deployment code still loads.

Deprecated: a flow runner becomes an infrastructure, field by field.
``Deployment(..., flow_runner=SubprocessFlowRunner(condaenv="x"))`` still works: it warns
and stores ``infrastructure={"type": "process", "conda_env": "x"}``, resolved through the
plugin registry when the deployment runs, like any other infrastructure mapping.
``shipway migrate FILE`` rewrites the source to the new form;
docs/migrating-from-flow-runners.md has the table of every field.

Only the fields a user set are converted: an unset field takes the new infrastructure's
default, exactly as it does after ``shipway migrate`` rewrote the call.
"""

from __future__ import annotations

import enum
import warnings
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shipway._first_party import DOCKER_TYPE, FIRST_PARTY_PLUGINS, KUBERNETES_TYPE, PROCESS_TYPE

__all__ = [
    "DockerFlowRunner",
    "FlowRunner",
    "FlowRunnerConversionWarning",
    "ImagePullPolicy",
    "KubernetesFlowRunner",
    "KubernetesImagePullPolicy",
    "SubprocessFlowRunner",
    "docker_pull_policy",
    "kubernetes_pull_policy",
    "replace_flow_runner",
]


class FlowRunnerConversionWarning(UserWarning):
    """A flow runner setting has no exact equivalent in the new infrastructure."""


class ImagePullPolicy(str, enum.Enum):
    """The Docker flow runner's pull policy; ``DockerContainer`` spells it in lower case."""

    IF_NOT_PRESENT = "IF_NOT_PRESENT"
    ALWAYS = "ALWAYS"
    NEVER = "NEVER"


class KubernetesImagePullPolicy(str, enum.Enum):
    """The Kubernetes flow runner's pull policy, spelled as Kubernetes spells it."""

    IF_NOT_PRESENT = "IfNotPresent"
    ALWAYS = "Always"
    NEVER = "Never"


def _policy_member(value: Any, policy: type[enum.Enum]) -> Any:
    """Accept a member of either policy enum, or any spelling of a member's name or value
    (``"ALWAYS"``, ``"always"``, ``"IfNotPresent"``, ``"if_not_present"``)."""
    if isinstance(value, (ImagePullPolicy, KubernetesImagePullPolicy)):
        value = value.name
    if not isinstance(value, str):
        return value  # let pydantic reject it, naming the field
    wanted = value.replace("_", "").replace("-", "").lower()
    for member in policy:
        if wanted in (member.name.replace("_", "").lower(), str(member.value).lower()):
            return member
    return value


def docker_pull_policy(value: Any) -> str:
    """``ImagePullPolicy.IF_NOT_PRESENT`` or ``"IF_NOT_PRESENT"`` -> ``"if_not_present"``."""
    member = _policy_member(value, ImagePullPolicy)
    if not isinstance(member, ImagePullPolicy):
        raise ValueError(f"not an image pull policy: {value!r}")
    return member.name.lower()


def kubernetes_pull_policy(value: Any) -> str:
    """``KubernetesImagePullPolicy.IF_NOT_PRESENT`` or ``"IfNotPresent"`` -> ``"IfNotPresent"``."""
    member = _policy_member(value, KubernetesImagePullPolicy)
    if not isinstance(member, KubernetesImagePullPolicy):
        raise ValueError(f"not an image pull policy: {value!r}")
    return member.value


class FlowRunner(BaseModel):
    """What every flow runner had: environment variables for the flow run."""

    model_config = ConfigDict(extra="forbid")

    #: The infrastructure type and class (from ``shipway.infrastructure``) that replace it.
    infrastructure_type: ClassVar[str]
    infrastructure_class: ClassVar[str]
    #: Old field name -> new field name, where they differ.
    renamed_fields: ClassVar[dict[str, str]] = {}

    env: dict[str, str] = Field(default_factory=dict)

    def infrastructure_spec(self) -> dict[str, Any]:
        """The equivalent infrastructure as a mapping with ``type``: the fields that were
        set, renamed and converted (enums to strings, paths to text)."""
        spec: dict[str, Any] = {"type": self.infrastructure_type}
        for field in type(self).model_fields:
            if field not in self.model_fields_set:
                continue
            value = self._convert(field, getattr(self, field))
            if value is not None:  # None meant "not set" for every flow runner field
                spec[self.renamed_fields.get(field, field)] = value
        return spec

    def conversion_warnings(self) -> list[str]:
        """What the conversion cannot carry over exactly: each names the field and what
        to do about it."""
        problems = []
        prefect_settings = sorted(k for k in self.env if k.startswith("PREFECT_"))
        if prefect_settings:
            problems.append(
                f"{type(self).__name__}.env sets {', '.join(prefect_settings)}: shipway does "
                "not read Prefect settings. They still reach the flow run; remove them "
                "unless your flow reads them itself."
            )
        return problems

    def replacement(self) -> str:
        """The replacement as Python source: ``Process(conda_env='x')``, long values elided."""
        arguments = []
        for key, value in self.infrastructure_spec().items():
            if key != "type":
                text = repr(value)
                arguments.append(f"{key}={text if len(text) <= 40 else '...'}")
        return f"{self.infrastructure_class}({', '.join(arguments)})"

    def _convert(self, field: str, value: Any) -> Any:
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, enum.Enum):
            return value.value
        return value


class SubprocessFlowRunner(FlowRunner):
    """Deprecated: use ``Process`` from ``shipway.infrastructure`` (``shipway-process``)."""

    infrastructure_type = PROCESS_TYPE
    infrastructure_class = FIRST_PARTY_PLUGINS[PROCESS_TYPE].class_name
    renamed_fields = {"condaenv": "conda_env"}

    condaenv: str | Path | None = None
    virtualenv: Path | None = None
    stream_output: bool = False

    @model_validator(mode="after")
    def _one_environment(self) -> SubprocessFlowRunner:
        if self.condaenv and self.virtualenv:
            raise ValueError("condaenv and virtualenv are mutually exclusive: set at most one")
        return self

    def conversion_warnings(self) -> list[str]:
        problems = super().conversion_warnings()
        if self.virtualenv:
            problems.append(
                "SubprocessFlowRunner.virtualenv has no exact equivalent: "
                "Process(virtualenv=...) runs that environment's interpreter, but unlike the "
                "flow runner it does not set VIRTUAL_ENV or put the environment's bin/ first "
                "on PATH. If the flow starts programs installed in the environment, set "
                "VIRTUAL_ENV and PATH in env."
            )
        return problems


class DockerFlowRunner(FlowRunner):
    """Deprecated: use ``DockerContainer`` from ``shipway.infrastructure`` (``shipway-docker``)."""

    infrastructure_type = DOCKER_TYPE
    infrastructure_class = FIRST_PARTY_PLUGINS[DOCKER_TYPE].class_name

    image: str | None = None
    image_pull_policy: ImagePullPolicy | None = None
    networks: list[str] = Field(default_factory=list)
    network_mode: str | None = None
    labels: dict[str, str] | None = None
    auto_remove: bool = False
    volumes: list[str] = Field(default_factory=list)
    stream_output: bool = True

    @field_validator("image_pull_policy", mode="before")
    @classmethod
    def _any_spelling(cls, value: Any) -> Any:
        return _policy_member(value, ImagePullPolicy)

    def infrastructure_spec(self) -> dict[str, Any]:
        spec = super().infrastructure_spec()
        if spec.get("networks") and spec.get("network_mode"):
            del spec["network_mode"]  # DockerContainer takes one of them; see the warning
        return spec

    def conversion_warnings(self) -> list[str]:
        problems = super().conversion_warnings()
        if self.networks and self.network_mode:
            problems.append(
                f"DockerFlowRunner sets both networks and network_mode={self.network_mode!r}, "
                "which have no equivalent together: DockerContainer takes one of them "
                "(network_mode replaces the container's networking). The container joins "
                f"the networks {', '.join(self.networks)} and network_mode is dropped; set "
                "network_mode alone instead if that is what the flow needs."
            )
        return problems

    def _convert(self, field: str, value: Any) -> Any:
        if field == "image_pull_policy" and value is not None:
            return docker_pull_policy(value)
        return super()._convert(field, value)


class KubernetesFlowRunner(FlowRunner):
    """Deprecated: use ``KubernetesJob`` from ``shipway.infrastructure``
    (``shipway-kubernetes``)."""

    infrastructure_type = KUBERNETES_TYPE
    infrastructure_class = FIRST_PARTY_PLUGINS[KUBERNETES_TYPE].class_name

    image: str | None = None
    namespace: str = "default"
    service_account_name: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    image_pull_policy: KubernetesImagePullPolicy | None = None
    job: dict[str, Any] | None = None
    customizations: list[dict[str, Any]] = Field(default_factory=list)
    job_watch_timeout_seconds: int | None = 5
    pod_watch_timeout_seconds: int = 60
    stream_output: bool = True

    @field_validator("image_pull_policy", mode="before")
    @classmethod
    def _any_spelling(cls, value: Any) -> Any:
        return _policy_member(value, KubernetesImagePullPolicy)

    @field_validator("customizations", mode="before")
    @classmethod
    def _patch_to_list(cls, value: Any) -> Any:
        # A ``jsonpatch.JsonPatch``, as Prefect stored it, keeps its operations in ``.patch``.
        return getattr(value, "patch", value)

    @classmethod
    def job_from_file(cls, filename: str | Path) -> dict[str, Any]:
        """Load a base Job manifest from a YAML or JSON file."""
        with open(filename, encoding="utf-8") as file:
            manifest: dict[str, Any] = yaml.safe_load(file)
        return manifest

    @classmethod
    def customize_from_file(cls, filename: str | Path) -> list[dict[str, Any]]:
        """Load RFC 6902 JSON patch operations from a YAML or JSON file."""
        with open(filename, encoding="utf-8") as file:
            operations: list[dict[str, Any]] = yaml.safe_load(file)
        return operations


def replace_flow_runner(arguments: dict[str, Any]) -> dict[str, Any]:
    """``Deployment(**arguments)`` with ``flow_runner=SomeFlowRunner(...)`` replaced by
    the equivalent ``infrastructure=`` mapping, warning that ``flow_runner`` is deprecated.

    Called by ``Deployment.__init__``; the warnings point at the line creating the
    Deployment.
    """
    if not isinstance(arguments.get("flow_runner"), FlowRunner):
        # Not a flow runner (in a shipway.yaml, say, which never had the key): left for
        # validation to report as an unknown field, with its file and line.
        return arguments
    arguments = dict(arguments)
    runner = arguments.pop("flow_runner")
    name = type(runner).__name__
    if "infrastructure" in arguments:
        raise TypeError(
            f"Deployment() got both flow_runner= and infrastructure=; flow_runner is the "
            f"deprecated spelling of infrastructure: remove flow_runner={name}(...)"
        )
    for problem in runner.conversion_warnings():
        warnings.warn(problem, FlowRunnerConversionWarning, stacklevel=3)
    warnings.warn(
        f"flow_runner={name}(...) is deprecated: use infrastructure={runner.replacement()} "
        f"(from shipway.infrastructure import {runner.infrastructure_class}). "
        "`shipway migrate FILE` rewrites deployment files to the new form.",
        DeprecationWarning,
        stacklevel=3,
    )
    arguments["infrastructure"] = runner.infrastructure_spec()
    return arguments
