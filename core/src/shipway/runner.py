"""Run one job on its infrastructure in the foreground: hooks, states, output, Ctrl-C.

This is what ``shipway run`` does; an agent (later) reuses it with another output sink.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import TaskStatus

if sys.version_info < (3, 11):  # anyio depends on the backport there
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found]

from shipway.deployments import (
    Deployment,
    DeploymentFile,
    resolve_infrastructure,
)
from shipway.engine import EXIT_CANNOT_START, EXIT_FLOW_FAILED
from shipway.errors import ParameterError
from shipway.infrastructure import (
    Infrastructure,
    InfrastructureError,
    InfrastructureNotFound,
    InfrastructureResult,
)
from shipway.jobs import Job, JobFormatError
from shipway.plugins import PluginRegistry, get_registry
from shipway.states import State, StateType

__all__ = [
    "PreparedRun",
    "RunOutcome",
    "first_error",
    "prepare_run",
    "run_job",
    "state_for_result",
    "with_job_additions",
]

DEFAULT_GRACE_SECONDS = 30


@dataclasses.dataclass(frozen=True)
class PreparedRun:
    deployment: Deployment
    infrastructure: Infrastructure
    job: Job


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
) -> PreparedRun:
    """Resolve a deployment's infrastructure and build its job (nothing is started)."""
    deployment = source.get(name)
    infrastructure = resolve_infrastructure(
        deployment, source, overrides=overrides, registry=registry
    )
    working_dir: Path = source.working_dir_for(deployment)
    try:
        job = Job(
            entrypoint=deployment.entrypoint,
            parameters={**deployment.parameters, **(parameters or {})},
            flow_name=deployment.flow_name,
            deployment_name=deployment.name,
            working_dir=str(working_dir),
            **({"flow_run_id": flow_run_id} if flow_run_id else {}),
        )
    except JobFormatError as exc:
        raise ParameterError(str(exc)) from None
    return PreparedRun(deployment, infrastructure, job)


def state_for_result(result: InfrastructureResult, cancelled: bool = False) -> State:
    """Completed on 0; Failed when the flow raised or could not start; Crashed when the
    infrastructure ended it (a signal, out of memory); Cancelled when the user asked."""
    if result.succeeded:
        kind = StateType.COMPLETED
    elif cancelled:
        kind = StateType.CANCELLED
    elif result.status_code in (EXIT_FLOW_FAILED, EXIT_CANNOT_START):
        kind = StateType.FAILED
    else:
        kind = StateType.CRASHED
    return State(kind, result.describe(), identifier=result.identifier, result=result)


async def run_job(
    infrastructure: Infrastructure,
    job: Job,
    *,
    registry: PluginRegistry | None = None,
    grace_seconds: int = DEFAULT_GRACE_SECONDS,
    handle_signals: bool = True,
    on_state: Callable[[State], None] | None = None,
) -> RunOutcome:
    """Submit ``job``, report every state, and stop it on its infrastructure on
    SIGINT/SIGTERM (gracefully; a second signal forces it)."""
    registry = registry or get_registry()
    registry.load_observers()

    def enter(state: State) -> State:
        registry.flow_run_state_changed(job, state)
        if on_state is not None:
            on_state(state)
        return state

    infrastructure = with_job_additions(registry, job, infrastructure)
    enter(State(StateType.PENDING, f"submitting to {infrastructure.type}"))

    result: InfrastructureResult | None = None
    identifier: str | None = None
    cancelled = False

    async def run(done: anyio.CancelScope, *, task_status: TaskStatus[str]) -> None:
        nonlocal result
        result = await infrastructure.run(job, task_status=task_status)
        done.cancel()  # the run is over: stop watching for signals

    async def stop(force: bool) -> None:
        assert identifier is not None
        with contextlib.suppress(InfrastructureNotFound):  # it ended on its own meanwhile
            await infrastructure.kill(identifier, 0 if force else grace_seconds)

    async def watch_signals(running: anyio.CancelScope, stoppers: anyio.abc.TaskGroup) -> None:
        nonlocal cancelled
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                cancelled_before, cancelled = cancelled, True
                if identifier is None:  # not started yet: abandon the start
                    running.cancel()
                    return
                reason = f"{signal.Signals(signum).name} received"
                if cancelled_before:
                    reason += ": stopping by force"
                enter(State(StateType.CANCELLING, reason, identifier=identifier))
                # Stop beside the watcher, so a second Ctrl-C can still force it.
                stoppers.start_soon(stop, cancelled_before)

    try:
        async with anyio.create_task_group() as stoppers, anyio.create_task_group() as tg:
            if handle_signals:
                tg.start_soon(watch_signals, tg.cancel_scope, stoppers)
            identifier = await tg.start(run, tg.cancel_scope)
            enter(State(StateType.RUNNING, identifier=identifier))
    except BaseExceptionGroup as group:
        error = first_error(group)
        if isinstance(error, InfrastructureError):
            enter(State(StateType.CRASHED, error.message, identifier=identifier))
        elif isinstance(error, Exception):
            enter(
                State(StateType.CRASHED, f"{type(error).__name__}: {error}", identifier=identifier)
            )
        raise error from None

    if result is None:  # abandoned before it started
        final = enter(State(StateType.CANCELLED, "cancelled before it started"))
        return RunOutcome(job, final, None)
    final = enter(state_for_result(result, cancelled))
    return RunOutcome(job, final, result)


def with_job_additions(
    registry: PluginRegistry, job: Job, infrastructure: Infrastructure
) -> Infrastructure:
    """``infrastructure`` with the env and labels the ``shipway_job_submitting`` hooks add;
    where both set a key, the deployment's own value wins."""
    additions = registry.job_submitting(job, infrastructure)
    if not (additions.env or additions.labels):
        return infrastructure
    return infrastructure.model_copy(
        update={
            "env": {**additions.env, **infrastructure.env},
            "labels": {**additions.labels, **infrastructure.labels},
        }
    )


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first leaf exception of a task group's error: what actually went wrong."""
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error
