"""One attempt of one flow run, from submission to its final state: the run lifecycle,
written once for ``shipway run`` (see ``shipway.runner``) and for agents.

The steps: add what the ``shipway_job_submitting`` hooks add, announce Pending, read the
secret references (a missing one fails the run), start the job on its infrastructure with
its output going to the caller's sink with every secret of the run masked, announce
Running with the run's identifier, and turn how it ended into a final state. Each state
goes to the caller's :data:`StateWriter` first (the terminal for ``shipway run``, the
store for an agent) and then, once recorded, to the ``shipway_flow_run_state_changed``
observers.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Awaitable, Callable

import anyio
from anyio.abc import TaskGroup, TaskStatus

if sys.version_info < (3, 11):  # anyio depends on the backport there
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found]

from shipway.exit_status import ExitStatus
from shipway.infrastructure import (
    Infrastructure,
    InfrastructureError,
    InfrastructureNotFound,
    InfrastructureResult,
    MaskedSink,
    OutputSink,
    current_output_sink,
    output_sink,
    resolve_secrets,
)
from shipway.jobs import Job
from shipway.plugins import PluginRegistry
from shipway.secrets import Masker, SecretNotFound
from shipway.states import State, StateType

__all__ = [
    "DEFAULT_GRACE_SECONDS",
    "Attempt",
    "AttemptReporting",
    "StateWriter",
    "first_error",
    "state_for_result",
    "stop_run",
    "with_job_additions",
]

log = logging.getLogger("shipway.attempt")

DEFAULT_GRACE_SECONDS = 30

StateWriter = Callable[[State], Awaitable[bool]]
"""Records a state where the run's states are kept, and says whether it did: False when
the run moved on without it (cancelled or taken over meanwhile); observers are then not
told of it."""


async def _record_nowhere(state: State) -> bool:
    return True


@dataclasses.dataclass(frozen=True)
class AttemptReporting:
    """Where an attempt's states and output go: what ``shipway run`` and an agent differ in."""

    write_state: StateWriter = _record_nowhere
    output: OutputSink | None = None
    """The run's output; None: the current sink (the terminal unless a caller chose one)."""
    output_location: str = "above"
    """Where that output can be read, for the final message ("its traceback is above")."""
    masker: Masker = dataclasses.field(default_factory=Masker)
    """The run's secrets, added once the attempt has read them: its output and its state
    messages are masked with it (a caller's own sink may mask its remarks with it too)."""


class Attempt:
    """Run ``job`` once on ``infrastructure``: ``await attempt.run()`` returns the final
    state; :meth:`cancel`, from another task, stops it."""

    def __init__(
        self,
        infrastructure: Infrastructure,
        job: Job,
        *,
        registry: PluginRegistry,
        reporting: AttemptReporting | None = None,
        grace_seconds: int = DEFAULT_GRACE_SECONDS,
    ) -> None:
        self.infrastructure = infrastructure
        """Where it runs; from :meth:`run` on, with what the submission hooks added."""
        self.job = job
        self.identifier: str | None = None
        """Set once the infrastructure has started the run."""
        self.cancelled = False
        self.final: State | None = None
        """The final state, once announced."""
        self._registry = registry
        self._reporting = reporting or AttemptReporting()
        self._grace_seconds = grace_seconds
        self._start = anyio.CancelScope()
        self._stoppers: TaskGroup | None = None

    async def run(self) -> State:
        """Submit the job and wait for its end. When the infrastructure fails (cannot
        start the run, loses track of it), the attempt ends Crashed and the error is raised;
        when a secret reference cannot be read, it ends Failed and ``SecretNotFound`` is."""
        self._registry.load_observers()
        self.infrastructure = with_job_additions(self._registry, self.job, self.infrastructure)
        await self.announce(State(StateType.PENDING, f"submitting to {self.infrastructure.type}"))
        try:
            secrets = resolve_secrets(self.infrastructure)
        except SecretNotFound as exc:  # nothing secret in the message: names and paths
            await self._end(State(StateType.FAILED, exc.message))
            raise
        self.infrastructure = secrets.infrastructure
        masker = self._reporting.masker
        masker.hide(secrets.values)
        result: InfrastructureResult | None = None

        async def submit(*, task_status: TaskStatus[str]) -> None:
            nonlocal result
            result = await self.infrastructure.run(self.job, task_status=task_status)

        sink = MaskedSink(self._reporting.output or current_output_sink(), masker)
        try:
            with output_sink(sink):
                async with anyio.create_task_group() as stoppers:
                    self._stoppers = stoppers
                    with self._start:  # cancelled only while the run has not started
                        async with anyio.create_task_group() as runs:
                            self.identifier = await runs.start(submit)
                            await self.announce(
                                State(StateType.RUNNING, identifier=self.identifier)
                            )
        except (BaseExceptionGroup, InfrastructureError) as failure:
            error = first_error(failure) if isinstance(failure, BaseExceptionGroup) else failure
            if isinstance(error, Exception):
                message = (  # with the hint: the run's state and logs keep the next step
                    error.one_line()
                    if isinstance(error, InfrastructureError)
                    else f"{type(error).__name__}: {error}"
                )
                await self._end(State(StateType.CRASHED, message, identifier=self.identifier))
            raise error from None
        finally:
            self._stoppers = None
        if result is None:
            return await self._end(State(StateType.CANCELLED, "cancelled before it started"))
        final = state_for_result(
            result, self.cancelled, output_location=self._reporting.output_location
        )
        return await self._end(final)

    def cancel(self, *, force: bool = False) -> None:
        """Abandon the start when the run has not started yet; else stop it on its
        infrastructure, within the grace period (``force``: at once). It then ends
        Cancelled. Call it again with ``force`` to cut a graceful stop short."""
        self.cancelled = True
        if self.identifier is None:
            self._start.cancel()
        elif self._stoppers is not None:
            grace = 0 if force else self._grace_seconds
            self._stoppers.start_soon(stop_run, self.infrastructure, self.identifier, grace)

    async def announce(self, state: State) -> State:
        """Record ``state`` through the caller's writer, then tell the observers; its
        message masked with the run's secrets (the state as announced is returned)."""
        message = self._reporting.masker.text(state.message)
        if message != state.message:
            state = dataclasses.replace(state, message=message)
        if await self._reporting.write_state(state):
            self._registry.flow_run_state_changed(self.job, state)
        return state

    async def _end(self, final: State) -> State:
        self.final = await self.announce(final)
        return self.final


def state_for_result(
    result: InfrastructureResult, cancelled: bool = False, *, output_location: str = "above"
) -> State:
    """Completed on 0; Failed when the flow raised or could not start; Crashed when the
    infrastructure ended it (a signal, out of memory); Cancelled when the user asked.
    ``output_location`` says where the flow's traceback can be read."""
    if result.succeeded:
        kind = StateType.COMPLETED
    elif cancelled:
        kind = StateType.CANCELLED
    elif result.status_code in (ExitStatus.FAILED, ExitStatus.CANNOT_START):
        kind = StateType.FAILED
    else:
        kind = StateType.CRASHED
    message = result.describe(output_location, stopped_on_request=cancelled)
    return State(kind, message, identifier=result.identifier, result=result)


async def stop_run(infrastructure: Infrastructure, identifier: str, grace_seconds: int) -> None:
    """Stop a started run (one another process started, too). One already gone counts as
    stopped; one that cannot be stopped is reported and left to end by itself."""
    try:
        await infrastructure.kill(identifier, grace_seconds)
    except InfrastructureNotFound:  # it ended on its own meanwhile
        pass
    except InfrastructureError as exc:
        log.warning("cannot stop %s: %s", identifier, exc.message)


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
