"""``deployment apply`` checks the flow before registering it: a deployment whose flow
file is missing or whose parameters do not fit would otherwise fail at every run, on
whichever agent took it, long after the mistake was made."""

from __future__ import annotations

from shipway.deployments._files import DeploymentFile
from shipway.deployments._model import Deployment
from shipway.entrypoints import FlowImportError, load_flow
from shipway.errors import ConfigError, ShipwayError

__all__ = ["check_flow"]

_NO_VALIDATE_HINT = (
    "If the flow only exists on the agents' machines, apply with --no-validate "
    "(the agent then reports the problem when the run starts)."
)


def check_flow(source: DeploymentFile, deployment: Deployment) -> None:
    """Import the deployment's flow from its working directory and check its default
    parameters against the flow's signature. Required parameters may be missing: a run
    can give them (``deployment run -p``); unknown names and values of the wrong type
    cannot be fixed by a run and are refused."""
    where = source.locate(("deployments", source.index_of(deployment.name)))
    working_dir = source.working_dir_for(deployment)
    what = f"deployment {deployment.name!r}: flow {deployment.entrypoint!r}"
    try:
        flow = load_flow(deployment.entrypoint, working_dir)
    except FlowImportError as exc:
        cause = exc.__cause__ or exc
        raise ConfigError(
            f"{what} cannot be imported: {exc}: {cause}", location=where, hint=_NO_VALIDATE_HINT
        ) from exc
    except ShipwayError as exc:
        raise ConfigError(
            f"{what}: {exc.message}",
            location=where,
            hint="\n".join(filter(None, (exc.hint, _NO_VALIDATE_HINT))),
        ) from exc
    try:
        flow.validate_parameters(deployment.parameters, partial=True)
    except ShipwayError as exc:
        raise ConfigError(f"deployment {deployment.name!r}: {exc.message}", location=where) from exc
