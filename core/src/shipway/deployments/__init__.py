"""Deployments: named, reusable ways to run a flow, from Python or a shipway.yaml, and
the one path from a deployment and its overrides to what a run needs."""

from __future__ import annotations

from shipway.deployments._files import DEFAULT_FILE, DeploymentFile, load_deployment_file
from shipway.deployments._flow_check import check_flow
from shipway.deployments._model import Deployment, collect_deployments
from shipway.deployments._overrides import merge_overrides, parse_override_args
from shipway.deployments._resolve import Locator, Resolution, RunRequest, resolve_run
from shipway.deployments._resolve_file import resolve_deployment, resolve_infrastructure
from shipway.deployments._spec import DeploymentSpec, deployment_spec, push_code

__all__ = [
    "DEFAULT_FILE",
    "Deployment",
    "DeploymentFile",
    "DeploymentSpec",
    "Locator",
    "Resolution",
    "RunRequest",
    "check_flow",
    "collect_deployments",
    "deployment_spec",
    "load_deployment_file",
    "merge_overrides",
    "parse_override_args",
    "push_code",
    "resolve_deployment",
    "resolve_infrastructure",
    "resolve_run",
]
