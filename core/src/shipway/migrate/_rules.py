"""What ``shipway migrate`` rewrites: old imports, the names they bind, and how each is
replaced. Pure data, so the rules read in one place and need no libcst."""

from __future__ import annotations

import enum
import typing
from dataclasses import dataclass, field
from pathlib import Path

from shipway.deployments import Deployment
from shipway.flow_runners import (
    DockerFlowRunner,
    FlowRunner,
    ImagePullPolicy,
    KubernetesFlowRunner,
    KubernetesImagePullPolicy,
    SubprocessFlowRunner,
    docker_pull_policy,
    kubernetes_pull_policy,
)

__all__ = [
    "DEPLOYMENT_FIELDS",
    "FLOW_RUNNERS_MODULE",
    "OLD_MODULES",
    "Kind",
    "Rule",
    "deployment_keyword_note",
    "path_fields",
    "provided_by_flow_runners",
    "rule_for",
]

FLOW_RUNNERS_MODULE = "shipway.flow_runners"
_RUNNER_MODULES = (
    "prefect.flow_runners",
    "prefect.flow_runners.base",
    "prefect.flow_runners.subprocess",
    "prefect.flow_runners.docker",
    "prefect.flow_runners.kubernetes",
    FLOW_RUNNERS_MODULE,
)
#: Modules whose use through ``import x`` (not ``from x import``) is left for the user.
OLD_MODULES = (*_RUNNER_MODULES, "prefect.deployments")

#: The keyword arguments shipway's Deployment accepts.
# Prefect's schedule objects do not translate to shipway's schedule mapping: noted instead.
DEPLOYMENT_FIELDS = frozenset(Deployment.model_fields) - {"schedule"}


class Kind(enum.Enum):
    RUNNER = "a flow runner class"
    PULL_POLICY = "an image pull policy enum"
    DEPLOYMENT = "the Deployment class"
    FLOW = "the flow decorator"


@dataclass(frozen=True)
class Rule:
    """How one imported name is replaced: ``new_module.new_name``; for a pull policy enum,
    ``policy`` turns its members into the strings the new field takes."""

    kind: Kind
    new_module: str
    new_name: str
    runner: type[FlowRunner] | None = None
    policy: dict[str, str] = field(default_factory=dict)


def _runner_rule(runner: type[FlowRunner]) -> Rule:
    return Rule(Kind.RUNNER, "shipway.infrastructure", runner.infrastructure_class, runner)


_RUNNER_NAMES: dict[str, Rule] = {
    cls.__name__: _runner_rule(cls)
    for cls in (SubprocessFlowRunner, DockerFlowRunner, KubernetesFlowRunner)
}
_RUNNER_NAMES["ImagePullPolicy"] = Rule(
    Kind.PULL_POLICY,
    FLOW_RUNNERS_MODULE,
    "ImagePullPolicy",
    policy={m.name: docker_pull_policy(m) for m in ImagePullPolicy},
)
_RUNNER_NAMES["KubernetesImagePullPolicy"] = Rule(
    Kind.PULL_POLICY,
    FLOW_RUNNERS_MODULE,
    "KubernetesImagePullPolicy",
    policy={m.name: kubernetes_pull_policy(m) for m in KubernetesImagePullPolicy},
)
_DEPLOYMENT = Rule(Kind.DEPLOYMENT, "shipway", "Deployment")

_RULES: dict[tuple[str, str], Rule] = {
    **{(module, name): rule for module in _RUNNER_MODULES for name, rule in _RUNNER_NAMES.items()},
    ("prefect.deployments", "Deployment"): _DEPLOYMENT,
    ("prefect.deployments", "DeploymentSpec"): _DEPLOYMENT,
    ("prefect", "flow"): Rule(Kind.FLOW, "shipway", "flow"),
    # Already the new spelling: nothing to import differently, but calls may still
    # pass flow_runner= (the deprecated shipway form).
    ("shipway", "Deployment"): _DEPLOYMENT,
    ("shipway.deployments", "Deployment"): _DEPLOYMENT,
}


def rule_for(module: str, name: str) -> Rule | None:
    return _RULES.get((module, name))


def path_fields(runner: type[FlowRunner]) -> frozenset[str]:
    """The runner's fields that took a ``Path``: the infrastructure takes a string there."""
    return frozenset(
        name
        for name, info in runner.model_fields.items()
        if info.annotation is Path or Path in typing.get_args(info.annotation)
    )


def provided_by_flow_runners(name: str) -> bool:
    """Whether ``shipway.flow_runners`` still provides ``name`` (deprecated)."""
    return name in _RUNNER_NAMES


_NO_EQUIVALENT = {
    "flow_location": "name the flow by entrypoint instead: "
    "flow='path/to/file.py:function' (or pass the @flow function itself)",
    "flow_name": "name the flow by entrypoint instead: "
    "flow='path/to/file.py:function' (or pass the @flow function itself)",
    "schedule": "rewrite it as a mapping, schedule={'interval': 86400} or "
    "schedule={'cron': '0 * * * *', 'timezone': 'Europe/Paris'} (see docs/orchestration.md)",
    "flow_storage": "shipway runs the flow from the project directory (or an image): remove it",
}


def deployment_keyword_note(keyword: str) -> str:
    """What to say about a keyword of the old Deployment/DeploymentSpec that shipway's
    Deployment does not accept."""
    what = _NO_EQUIVALENT.get(keyword) or (
        f"remove it (Deployment accepts: {', '.join(sorted(DEPLOYMENT_FIELDS))})"
    )
    return f"{keyword}= has no equivalent in shipway's Deployment: {what}"
