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
from shipway.migrate._prefect_blocks import BLOCKS, Block

__all__ = [
    "DEPLOYMENT_FIELDS",
    "FLOW_RUNNERS_MODULE",
    "OLD_MODULES",
    "Kind",
    "Rule",
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
OLD_MODULES = (*_RUNNER_MODULES, "prefect.deployments", "prefect.infrastructure")

#: The keyword arguments shipway's Deployment accepts.
DEPLOYMENT_FIELDS = frozenset(Deployment.model_fields)


class Kind(enum.Enum):
    RUNNER = "a flow runner class"
    PULL_POLICY = "an image pull policy enum"
    DEPLOYMENT = "the Deployment class"
    FLOW = "the flow decorator"
    TASK = "the task decorator"
    MOVED = "a name shipway provides under the same name"
    INFRASTRUCTURE = "a Prefect infrastructure block"
    SCHEDULE = "a Prefect schedule class"


@dataclass(frozen=True)
class Rule:
    """How one imported name is replaced: ``new_module.new_name``; for a pull policy enum,
    ``policy`` turns its members into the strings the new field takes."""

    kind: Kind
    new_module: str
    new_name: str
    runner: type[FlowRunner] | None = None
    policy: dict[str, str] = field(default_factory=dict)
    block: Block | None = None


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

#: Where Prefect 2 kept each name over its releases (2.0 betas to 2.x).
_INFRASTRUCTURE_MODULES = (
    "prefect.infrastructure",
    "prefect.infrastructure.process",
    "prefect.infrastructure.docker",
    "prefect.infrastructure.container",
    "prefect.infrastructure.kubernetes",
)
_SCHEDULE_MODULES = (
    "prefect.orion.schemas.schedules",
    "prefect.server.schemas.schedules",
    "prefect.client.schemas.schedules",
    "prefect.schedules",
)
_MOVED = {
    ("prefect", "flow"): Rule(Kind.FLOW, "shipway", "flow"),
    ("prefect.flows", "flow"): Rule(Kind.FLOW, "shipway", "flow"),
    ("prefect", "task"): Rule(Kind.TASK, "shipway", "task"),
    ("prefect.tasks", "task"): Rule(Kind.TASK, "shipway", "task"),
    ("prefect", "Flow"): Rule(Kind.MOVED, "shipway", "Flow"),
    ("prefect.flows", "Flow"): Rule(Kind.MOVED, "shipway", "Flow"),
    ("prefect", "Task"): Rule(Kind.MOVED, "shipway", "Task"),
    ("prefect.tasks", "Task"): Rule(Kind.MOVED, "shipway", "Task"),
    ("prefect", "get_run_logger"): Rule(Kind.MOVED, "shipway", "get_run_logger"),
    ("prefect.logging", "get_run_logger"): Rule(Kind.MOVED, "shipway", "get_run_logger"),
    ("prefect", "unmapped"): Rule(Kind.MOVED, "shipway", "unmapped"),
    ("prefect.utilities.annotations", "unmapped"): Rule(Kind.MOVED, "shipway", "unmapped"),
    ("prefect", "Deployment"): _DEPLOYMENT,
    ("prefect.deployments.deployments", "Deployment"): _DEPLOYMENT,
}
_INFRASTRUCTURE = {
    (module, name): Rule(Kind.INFRASTRUCTURE, "shipway.infrastructure", name, block=block)
    for module in _INFRASTRUCTURE_MODULES
    for name, block in BLOCKS.items()
}
_SCHEDULES = {
    (module, name): Rule(Kind.SCHEDULE, "", name)
    for module in _SCHEDULE_MODULES
    for name in ("IntervalSchedule", "CronSchedule", "RRuleSchedule")
}
# Prefect 2's own pull policy enums, beside its infrastructure blocks.
_GA_PULL_POLICIES = {
    ("prefect.infrastructure.docker", "ImagePullPolicy"): _RUNNER_NAMES["ImagePullPolicy"],
    ("prefect.infrastructure.container", "ImagePullPolicy"): _RUNNER_NAMES["ImagePullPolicy"],
    ("prefect.infrastructure.kubernetes", "KubernetesImagePullPolicy"): _RUNNER_NAMES[
        "KubernetesImagePullPolicy"
    ],
}

_RULES: dict[tuple[str, str], Rule] = {
    **{(module, name): rule for module in _RUNNER_MODULES for name, rule in _RUNNER_NAMES.items()},
    ("prefect.deployments", "Deployment"): _DEPLOYMENT,
    ("prefect.deployments", "DeploymentSpec"): _DEPLOYMENT,
    **_MOVED,
    **_INFRASTRUCTURE,
    **_SCHEDULES,
    **_GA_PULL_POLICIES,
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
