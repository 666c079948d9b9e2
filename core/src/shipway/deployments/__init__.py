"""Deployments: named, reusable ways to run a flow, from Python or a shipway.yaml."""

from __future__ import annotations

from shipway.deployments._files import DEFAULT_FILE, DeploymentFile, load_deployment_file
from shipway.deployments._model import Deployment, collect_deployments
from shipway.deployments._overrides import merge_overrides, parse_override_args
from shipway.deployments._resolve import resolve_infrastructure
from shipway.deployments._validation import problems_on_one_line

__all__ = [
    "DEFAULT_FILE",
    "Deployment",
    "DeploymentFile",
    "collect_deployments",
    "load_deployment_file",
    "merge_overrides",
    "parse_override_args",
    "problems_on_one_line",
    "resolve_infrastructure",
]
