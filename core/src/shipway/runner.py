"""``shipway run``: one attempt (see ``shipway.attempt``) in the foreground, its output on
the terminal, stopped on its infrastructure on Ctrl-C."""

from __future__ import annotations

import dataclasses
import signal
import sys
from collections.abc import Callable, Mapping
from typing import Any

import anyio

if sys.version_info < (3, 11):  # anyio depends on the backport there
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found]

from shipway.attempt import DEFAULT_GRACE_SECONDS, Attempt, AttemptReporting, first_error
from shipway.deployments import Deployment, DeploymentFile, push_code, resolve_deployment
from shipway.infrastructure import Infrastructure, InfrastructureResult
from shipway.jobs import Job
from shipway.plugins import PluginRegistry, get_registry
from shipway.states import State, StateType
from shipway.storage import Storage

__all__ = ["PreparedRun", "RunOutcome", "prepare_run", "run_job"]


@dataclasses.dataclass(frozen=True)
class PreparedRun:
    deployment: Deployment
    infrastructure: Infrastructure
    job: Job
    storage: Storage | None = None


@dataclasses.dataclass(frozen=True)
class RunOutcome:
    job: Job
    state: State
    result: InfrastructureResult | None


def prepare_run(
    source: DeploymentFile,
    name: str,
    *,
    parameters: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    registry: PluginRegistry | None = None,
    flow_run_id: str | None = None,
    push: bool = False,
    allow_dirty: bool = False,
) -> PreparedRun:
    """Resolve a file's deployment into its infrastructure and job (nothing is started).
    With ``push``, a deployment with storage gets its code pushed and the job its ref:
    the run then pulls what a stored deployment's runs would."""
    deployment = source.get(name)
    resolution = resolve_deployment(
        source,
        deployment,
        parameters=parameters,
        overrides=overrides,
        flow_run_id=flow_run_id,
        registry=registry,
    )
    job = resolution.job
    if push and resolution.storage is not None:
        ref = push_code(
            resolution.storage,
            str(source.working_dir_for(deployment)),
            deployment_name=deployment.name,
            allow_dirty=allow_dirty,
        )
        job = job.replace(storage_ref=ref)
    return PreparedRun(deployment, resolution.infrastructure, job, resolution.storage)


async def run_job(
    infrastructure: Infrastructure,
    job: Job,
    *,
    registry: PluginRegistry | None = None,
    grace_seconds: int = DEFAULT_GRACE_SECONDS,
    handle_signals: bool = True,
    on_state: Callable[[State], None] | None = None,
) -> RunOutcome:
    """Run ``job`` once, showing every state to ``on_state``, and stop it on its
    infrastructure on SIGINT/SIGTERM (gracefully; a second signal forces it)."""

    async def show(state: State) -> bool:
        if on_state is not None:
            on_state(state)
        return True  # the terminal is the only record of a foreground run

    attempt = Attempt(
        infrastructure,
        job,
        registry=registry or get_registry(),
        reporting=AttemptReporting(write_state=show),
        grace_seconds=grace_seconds,
    )
    try:
        async with anyio.create_task_group() as watchers:
            if handle_signals:
                watchers.start_soon(_stop_on_signals, attempt)
            final = await attempt.run()
            watchers.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        raise first_error(group) from None
    return RunOutcome(job, final, final.result)


async def _stop_on_signals(attempt: Attempt) -> None:
    """The first signal stops the run gracefully (or abandons its start); the next one
    stops it by force."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            force = attempt.cancelled
            if attempt.identifier is not None:
                reason = f"{signal.Signals(signum).name} received"
                if force:
                    reason += ": stopping by force"
                cancelling = State(StateType.CANCELLING, reason, identifier=attempt.identifier)
                await attempt.announce(cancelling)
            attempt.cancel(force=force)
