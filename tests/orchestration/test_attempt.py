"""The run-one-attempt primitive (shipway.attempt) on the real process plugin: which
states it reports, to the caller's writer first and then to the observers; where the
output goes and how the final message names that place; cancellation; failures."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterable
from pathlib import Path

import anyio
import pytest

from shipway import hookimpl
from shipway.attempt import Attempt, AttemptReporting
from shipway.infrastructure import InfrastructureError, Job
from shipway.plugins import PluginPolicy, PluginRegistry
from shipway.states import State, StateType
from shipway.testing import RecordingSink
from shipway_process import Process

pytestmark = pytest.mark.anyio

S = StateType
WAIT_SECONDS = 60  # a loaded 2-core machine may take seconds to start an interpreter

FLOWS = """
import time

from shipway import flow


@flow
def hello(name: str = "world"):
    print(f"Hello {name}!", flush=True)


@flow
def failing():
    raise RuntimeError("failing on purpose")


@flow
def sleeper():
    print("started", flush=True)
    time.sleep(120)
"""


class Observer:
    """A ``shipway_flow_run_state_changed`` plugin keeping what it is told."""

    def __init__(self) -> None:
        self.seen: list[State] = []

    @hookimpl
    def shipway_flow_run_state_changed(self, state: State) -> None:
        self.seen.append(state)


class KeptStates:
    """A state writer keeping the states it records, and refusing the types in ``refuse``
    (as the agent's does when the run moved on in the store)."""

    def __init__(self, refuse: Iterable[StateType] = ()) -> None:
        self.recorded: list[State] = []
        self._refuse = set(refuse)

    async def __call__(self, state: State) -> bool:
        if state.type in self._refuse:
            return False
        self.recorded.append(state)
        return True

    @property
    def types(self) -> list[StateType]:
        return [state.type for state in self.recorded]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "demo.py").write_text(textwrap.dedent(FLOWS))
    return tmp_path


@pytest.fixture
def observer() -> Observer:
    return Observer()


@pytest.fixture
def registry(observer: Observer) -> PluginRegistry:
    fresh = PluginRegistry(PluginPolicy())
    fresh.register(observer, name="observer")
    return fresh


def job(project: Path, flow: str, **parameters: object) -> Job:
    return Job(
        entrypoint=f"flows/demo.py:{flow}", parameters=parameters, working_dir=str(project)
    )


def attempt(
    registry: PluginRegistry,
    job: Job,
    states: KeptStates,
    sink: RecordingSink,
    working_dir: str | None = None,
) -> Attempt:
    infrastructure = Process(working_dir=working_dir)
    reporting = AttemptReporting(
        write_state=states, output=sink, output_location="in the run's logs"
    )
    return Attempt(infrastructure, job, registry=registry, reporting=reporting, grace_seconds=5)


async def test_each_state_is_recorded_then_told_to_the_observers(
    project: Path, registry: PluginRegistry, observer: Observer
) -> None:
    states, sink = KeptStates(), RecordingSink()
    with anyio.fail_after(WAIT_SECONDS):
        final = await attempt(registry, job(project, "hello", name="attempt"), states, sink).run()

    assert states.types == [S.PENDING, S.RUNNING, S.COMPLETED]
    assert observer.seen == states.recorded
    pending, running, completed = states.recorded
    assert pending.message == "submitting to process"
    assert running.identifier is not None and completed.identifier == running.identifier
    assert final is completed
    assert final.result is not None and final.result.status_code == 0
    assert sink.text("stdout") == "Hello attempt!\n"  # the caller's sink, not the terminal


async def test_a_state_the_writer_refuses_is_not_told_to_the_observers(
    project: Path, registry: PluginRegistry, observer: Observer
) -> None:
    states = KeptStates(refuse=[S.RUNNING])  # e.g. cancelled in the store meanwhile
    with anyio.fail_after(WAIT_SECONDS):
        await attempt(registry, job(project, "hello"), states, RecordingSink()).run()
    assert [state.type for state in observer.seen] == [S.PENDING, S.COMPLETED]


async def test_the_final_message_says_where_the_output_went(
    project: Path, registry: PluginRegistry
) -> None:
    states, sink = KeptStates(), RecordingSink()
    with anyio.fail_after(WAIT_SECONDS):
        final = await attempt(registry, job(project, "failing"), states, sink).run()
    assert final.type is S.FAILED
    assert final.message == "the flow raised an exception (its traceback is in the run's logs)"
    assert "RuntimeError: failing on purpose" in sink.text("stderr")


async def cancel_once_started(running: Attempt, sink: RecordingSink, *, force: bool) -> State:
    """Run ``running`` (a sleeper), cancel it once it printed ``started``; its final state."""
    finals: list[State] = []

    async def run() -> None:
        finals.append(await running.run())

    with anyio.fail_after(WAIT_SECONDS):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            await sink.wait_for(b"started")
            running.cancel(force=force)
    (final,) = finals
    return final


async def test_cancelling_a_running_attempt_stops_it_on_its_infrastructure(
    project: Path, registry: PluginRegistry, observer: Observer
) -> None:
    states, sink = KeptStates(), RecordingSink()
    running = attempt(registry, job(project, "sleeper"), states, sink)

    final = await cancel_once_started(running, sink, force=False)

    assert states.types == [S.PENDING, S.RUNNING, S.CANCELLED]
    assert final.result is not None and "SIGTERM" in final.message
    assert observer.seen[-1] is final


async def test_a_forced_stop_the_user_asked_for_is_reported_as_asked(
    project: Path, registry: PluginRegistry
) -> None:
    states, sink = KeptStates(), RecordingSink()
    running = attempt(registry, job(project, "sleeper"), states, sink)

    final = await cancel_once_started(running, sink, force=True)  # a second Ctrl-C

    assert final.type is S.CANCELLED
    assert "SIGKILL" in final.message and "as asked" in final.message
    assert "memory" not in final.message


async def test_cancelling_before_the_start_abandons_it(
    project: Path, registry: PluginRegistry
) -> None:
    states, sink = KeptStates(), RecordingSink()
    abandoned = attempt(registry, job(project, "hello"), states, sink)
    abandoned.cancel()
    with anyio.fail_after(WAIT_SECONDS):
        final = await abandoned.run()
    assert (final.type, final.message, final.result) == (
        S.CANCELLED,
        "cancelled before it started",
        None,
    )
    assert states.types == [S.PENDING, S.CANCELLED]
    assert abandoned.identifier is None and sink.lines == []


async def test_an_infrastructure_failure_ends_crashed_and_is_raised(
    project: Path, registry: PluginRegistry, observer: Observer
) -> None:
    states = KeptStates()
    failing = attempt(
        registry,
        job(project, "hello"),
        states,
        RecordingSink(),
        working_dir=str(project / "missing"),
    )
    with anyio.fail_after(WAIT_SECONDS), pytest.raises(InfrastructureError) as caught:
        await failing.run()
    assert states.types == [S.PENDING, S.CRASHED]
    crashed = states.recorded[-1]
    assert crashed.message == caught.value.one_line() and "does not exist" in crashed.message
    assert caught.value.hint and "Fix 'working_dir'" in crashed.message  # the next step too
    assert crashed.result is None  # no result: the infrastructure, not the flow, failed
    assert observer.seen[-1] is crashed
    assert failing.final is crashed  # ended: the caller knows the error is recorded


def test_the_run_path_loads_no_store_agent_or_cli() -> None:
    """Arrows point down: the attempt and the resolution never import what sits above them."""
    code = textwrap.dedent(
        """
        import sys
        import shipway.attempt, shipway.runner, shipway.deployments
        above = ("shipway.store", "shipway.agent", "shipway.cli", "sqlalchemy")
        loaded = [name for name in above if name in sys.modules]
        assert not loaded, loaded
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
