"""prepare_run and run_job with a real (test) infrastructure: states, hooks, output."""

from __future__ import annotations

import os
import signal
import types
from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol

import anyio
import pytest
from anyio.abc import TaskStatus

from shipway._markers import hookimpl
from shipway.attempt import state_for_result
from shipway.deployments import DeploymentFile, load_deployment_file
from shipway.errors import DeploymentNotFound, ParameterError
from shipway.infrastructure import (
    Infrastructure,
    InfrastructureError,
    InfrastructureResult,
    Job,
    JobAdditions,
    StreamName,
    output_sink,
)
from shipway.plugins import PluginRegistry
from shipway.runner import prepare_run, run_job
from shipway.states import State, StateType

pytestmark = pytest.mark.usefixtures("isolated_imports")

Write = Callable[[str, str], Path]


class Sink(Protocol):
    """The ``sink`` fixture (conftest's CollectingSink): keeps every line per stream."""

    def write(self, stream: StreamName, data: bytes) -> None: ...

    def text(self, stream: StreamName) -> str: ...


FLOWS = """
import os
import time

from shipway import flow


@flow
def hello(name: str = "world", times: int = 1):
    for _ in range(times):
        print(f"Hello {name}!")


@flow
def failing():
    raise RuntimeError("flow failed on purpose")


@flow
def show_env():
    for key in ("FROM_HOOK", "SHARED", "DEPLOYMENT_ONLY", "REMOVED"):
        print(f"{key}={os.environ.get(key)}")


@flow
def show_labels():
    print(os.environ["TEST_LOCAL_LABELS"])


@flow
def sleepy():
    try:  # "started" is printed inside the try, so a signal after it always runs finally
        print("started", flush=True)
        time.sleep(120)
    finally:
        print("cleanup ran", flush=True)
"""

CONFIG = """
infrastructure:
  local:
    type: test-local
    env: {SHARED: deployment, DEPLOYMENT_ONLY: "yes"}
  broken:
    type: test-unstartable
deployments:
  - name: hello
    flow: flows/demo.py:hello
    parameters: {name: file, times: 1}
    infrastructure: test-local
  - name: failing
    flow: flows/demo.py:failing
    infrastructure: test-local
  - name: env
    flow: flows/demo.py:show_env
    infrastructure: local
  - name: labels
    flow: flows/demo.py:show_labels
    infrastructure: test-local
  - name: unstartable
    flow: flows/demo.py:hello
    infrastructure: broken
  - name: bad-params
    flow: flows/demo.py:hello
    parameters: {times: often}
    infrastructure: test-local
  - name: sleepy
    flow: flows/demo.py:sleepy
    infrastructure: {type: test-local, grace_seconds: 20}
"""


class StateRecorder:
    """An observer plugin: records every state change it is told about."""

    def __init__(self) -> None:
        self.seen: list[tuple[Job, State]] = []

    @hookimpl
    def shipway_flow_run_state_changed(self, job: Job, state: State) -> None:
        self.seen.append((job, state))

    @property
    def types(self) -> list[StateType]:
        return [state.type for _, state in self.seen]


class AddsEnvironment:
    """A submission hook adding env and labels, asking only for the arguments it needs."""

    @hookimpl
    def shipway_job_submitting(self, infrastructure: Infrastructure) -> JobAdditions:
        assert infrastructure.type == "test-local"
        return JobAdditions(
            env={"FROM_HOOK": "hook", "SHARED": "hook"}, labels={"added-by": "hook"}
        )


class BrokenObserver:
    @hookimpl
    def shipway_flow_run_state_changed(self, state: State) -> None:
        raise RuntimeError(f"observer broke on {state.name}")


@pytest.fixture
def project(write: Write, tmp_path: Path) -> Path:
    write("project/flows/demo.py", FLOWS)
    write("project/shipway.yaml", CONFIG)
    return tmp_path / "project"


@pytest.fixture
def source(project: Path) -> DeploymentFile:
    return load_deployment_file(project / "shipway.yaml")


@pytest.fixture
def recorder(registry: PluginRegistry) -> StateRecorder:
    recorder = StateRecorder()
    registry.register(recorder, name="state-recorder")
    return recorder


class TestPrepareRun:
    def test_builds_the_job(
        self,
        source: DeploymentFile,
        project: Path,
        registry: PluginRegistry,
        testing_module: types.ModuleType,
    ) -> None:
        prepared = prepare_run(
            source,
            "hello",
            parameters={"times": 3},
            overrides={"env": {"X": "cli"}},
            registry=registry,
            flow_run_id="run-1",
        )
        assert prepared.deployment is source.get("hello")
        assert type(prepared.infrastructure) is testing_module.LocalEcho
        assert prepared.infrastructure.env == {"X": "cli"}
        job = prepared.job
        assert job.flow_run_id == "run-1"
        assert job.entrypoint == "flows/demo.py:hello"
        assert job.flow_name == "hello"
        assert job.deployment_name == "hello"
        assert job.parameters == {"name": "file", "times": 3}
        assert job.working_dir == str(project.resolve())

    def test_new_flow_run_id_each_time(
        self, source: DeploymentFile, registry: PluginRegistry
    ) -> None:
        first = prepare_run(source, "hello", registry=registry).job.flow_run_id
        second = prepare_run(source, "hello", registry=registry).job.flow_run_id
        assert first != second

    def test_non_json_parameter_is_a_parameter_error(
        self, source: DeploymentFile, registry: PluginRegistry
    ) -> None:
        with pytest.raises(ParameterError, match="parameter 'name' cannot be handed"):
            prepare_run(source, "hello", parameters={"name": {1, 2}}, registry=registry)

    def test_unknown_deployment(self, source: DeploymentFile, registry: PluginRegistry) -> None:
        with pytest.raises(DeploymentNotFound, match="Known deployments: hello, failing"):
            prepare_run(source, "helo", registry=registry)


@pytest.mark.anyio
class TestRunJob:
    async def test_completed_run_reports_every_state(
        self,
        source: DeploymentFile,
        registry: PluginRegistry,
        recorder: StateRecorder,
        sink: Sink,
    ) -> None:
        prepared = prepare_run(source, "hello", parameters={"times": 2}, registry=registry)
        received: list[State] = []
        with output_sink(sink):
            outcome = await run_job(
                prepared.infrastructure,
                prepared.job,
                registry=registry,
                handle_signals=False,
                on_state=received.append,
            )
        assert sink.text("stdout") == "Hello file!\nHello file!\n"
        assert sink.text("stderr") == ""
        assert recorder.types == [StateType.PENDING, StateType.RUNNING, StateType.COMPLETED]
        assert [state for _, state in recorder.seen] == received
        assert all(job is prepared.job for job, _ in recorder.seen)

        pending, running, completed = received
        assert pending.identifier is None
        assert running.identifier is not None
        assert running.identifier.startswith("test-local:")
        assert completed.identifier == running.identifier
        assert completed.result == InfrastructureResult(running.identifier, 0)
        assert completed.type.is_final and not running.type.is_final
        assert outcome.state is completed
        assert outcome.result is completed.result
        assert outcome.job is prepared.job

    async def test_flow_raising_ends_failed(
        self,
        source: DeploymentFile,
        registry: PluginRegistry,
        recorder: StateRecorder,
        sink: Sink,
    ) -> None:
        prepared = prepare_run(source, "failing", registry=registry)
        with output_sink(sink):
            outcome = await run_job(
                prepared.infrastructure, prepared.job, registry=registry, handle_signals=False
            )
        assert recorder.types == [StateType.PENDING, StateType.RUNNING, StateType.FAILED]
        assert outcome.state.type is StateType.FAILED
        assert outcome.result is not None and outcome.result.status_code == 1
        assert "raised an exception" in outcome.state.message
        stderr = sink.text("stderr")
        assert "RuntimeError: flow failed on purpose" in stderr
        assert str(Path(prepared.job.working_dir or "") / "flows" / "demo.py") in stderr

    async def test_flow_that_cannot_start_ends_failed(
        self, source: DeploymentFile, registry: PluginRegistry, sink: Sink
    ) -> None:
        prepared = prepare_run(source, "bad-params", registry=registry)
        with output_sink(sink):
            outcome = await run_job(
                prepared.infrastructure, prepared.job, registry=registry, handle_signals=False
            )
        assert outcome.state.type is StateType.FAILED
        assert outcome.result is not None and outcome.result.status_code == 3
        assert "parameter 'times'" in sink.text("stderr")

    async def test_submission_hook_adds_env_and_the_deployment_wins(
        self, source: DeploymentFile, registry: PluginRegistry, sink: Sink
    ) -> None:
        registry.register(AddsEnvironment(), name="adds-environment")
        prepared = prepare_run(
            source, "env", overrides={"env": {"REMOVED": None}}, registry=registry
        )
        with output_sink(sink):
            outcome = await run_job(
                prepared.infrastructure, prepared.job, registry=registry, handle_signals=False
            )
        assert outcome.state.type is StateType.COMPLETED
        assert sink.text("stdout").splitlines() == [
            "FROM_HOOK=hook",
            "SHARED=deployment",
            "DEPLOYMENT_ONLY=yes",
            "REMOVED=None",
        ]
        assert prepared.infrastructure.env.get("FROM_HOOK") is None  # the hook got a copy

    async def test_hook_labels_reach_the_infrastructure(
        self, source: DeploymentFile, registry: PluginRegistry, sink: Sink
    ) -> None:
        class AddsLabels:
            @hookimpl
            def shipway_job_submitting(self) -> JobAdditions:
                return JobAdditions(labels={"team": "hook", "extra": "hook"})

        registry.register(AddsLabels(), name="adds-labels")
        prepared = prepare_run(
            source, "labels", overrides={"labels": {"team": "deployment"}}, registry=registry
        )
        with output_sink(sink):
            await run_job(
                prepared.infrastructure, prepared.job, registry=registry, handle_signals=False
            )
        assert sink.text("stdout") == '{"extra": "hook", "team": "deployment"}\n'

    async def test_infrastructure_failing_to_start_is_recorded_as_crashed(
        self, source: DeploymentFile, registry: PluginRegistry, recorder: StateRecorder
    ) -> None:
        prepared = prepare_run(source, "unstartable", registry=registry)
        received: list[State] = []
        with pytest.raises(InfrastructureError) as caught:
            await run_job(
                prepared.infrastructure,
                prepared.job,
                registry=registry,
                handle_signals=False,
                on_state=received.append,
            )
        assert caught.value.message == "cannot reach the test platform at nowhere:1"
        assert recorder.types == [StateType.PENDING, StateType.CRASHED]
        crashed = received[-1]
        assert crashed.type is StateType.CRASHED
        # The hint travels with the message (the state and the logs keep the next step).
        assert crashed.message == caught.value.one_line()
        assert crashed.message.startswith("cannot reach the test platform at nowhere:1 (")
        assert crashed.identifier is None
        assert crashed.result is None

    async def test_a_failing_observer_does_not_break_the_run(
        self,
        source: DeploymentFile,
        registry: PluginRegistry,
        recorder: StateRecorder,
        sink: Sink,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        registry.register(BrokenObserver(), name="broken-observer")
        prepared = prepare_run(source, "hello", registry=registry)
        with output_sink(sink):
            outcome = await run_job(
                prepared.infrastructure, prepared.job, registry=registry, handle_signals=False
            )
        assert outcome.state.type is StateType.COMPLETED
        assert recorder.types == [StateType.PENDING, StateType.RUNNING, StateType.COMPLETED]
        assert "observer broke on Pending" in caplog.text
        assert "broken-observer" in caplog.text

    async def test_output_goes_to_the_terminal_without_a_sink(
        self,
        source: DeploymentFile,
        registry: PluginRegistry,
        capfd: pytest.CaptureFixture[str],
    ) -> None:
        prepared = prepare_run(source, "hello", registry=registry)
        await run_job(
            prepared.infrastructure, prepared.job, registry=registry, handle_signals=False
        )
        assert "Hello file!\n" in capfd.readouterr().out

    async def test_python_deployment_file_runs(
        self,
        write: Write,
        tmp_path: Path,
        registry: PluginRegistry,
        testing_module: types.ModuleType,
        sink: Sink,
    ) -> None:
        write(
            "py/flows/hello.py",
            """
            from shipway import flow

            @flow
            def hello_world(name: str = "world"):
                print(f"Hello {name}!")
            """,
        )
        write(
            "py/deployments.py",
            """
            from shipway import Deployment
            from shipway_testing import LocalEcho  # the plugin providing the class
            from flows.hello import hello_world

            Deployment(name="example", flow=hello_world, infrastructure=LocalEcho())
            """,
        )
        # The flow defined beside its deployment: the engine imports this file itself.
        write(
            "py/inline.py",
            """
            from shipway import Deployment, flow

            @flow
            def inline(word: str):
                print(f"inline {word}")

            Deployment(name="inline", flow=inline, infrastructure="test-local")
            """,
        )
        with output_sink(sink):
            for file, name, parameters in (
                ("deployments.py", "example", {}),
                ("inline.py", "inline", {"word": "ok"}),
            ):
                source = load_deployment_file(tmp_path / "py" / file)
                prepared = prepare_run(source, name, parameters=parameters, registry=registry)
                outcome = await run_job(
                    prepared.infrastructure, prepared.job, registry=registry, handle_signals=False
                )
                assert outcome.state.type is StateType.COMPLETED, sink.text("stderr")
        assert sink.text("stdout") == "Hello world!\ninline ok\n"

    async def test_sigint_stops_the_run_on_its_infrastructure(
        self, source: DeploymentFile, registry: PluginRegistry, recorder: StateRecorder
    ) -> None:
        prepared = prepare_run(source, "sleepy", registry=registry)
        stdout: list[bytes] = []

        class InterruptOnStart:
            def write(self, stream: StreamName, data: bytes) -> None:
                if stream == "stdout":
                    stdout.append(data)
                if data == b"started\n":  # the flow is inside its try block: press Ctrl-C
                    os.kill(os.getpid(), signal.SIGINT)

        with output_sink(InterruptOnStart()):
            outcome = await run_job(prepared.infrastructure, prepared.job, registry=registry)
        assert stdout == [b"started\n", b"cleanup ran\n"]
        assert recorder.types == [
            StateType.PENDING,
            StateType.RUNNING,
            StateType.CANCELLING,
            StateType.CANCELLED,
        ]
        assert recorder.seen[2][1].message == "SIGINT received"
        assert outcome.state.type is StateType.CANCELLED
        assert outcome.result is not None and outcome.result.status_code == 143

    async def test_a_signal_before_the_run_started_abandons_the_start(
        self, registry: PluginRegistry, recorder: StateRecorder
    ) -> None:
        started: list[str] = []

        class SlowToStart(Infrastructure):
            """Gets Ctrl-C while still starting (pulling an image, say): never starts."""

            type: Literal["test-slow-start"] = "test-slow-start"

            async def run(
                self, job: Job, task_status: TaskStatus[str] = anyio.TASK_STATUS_IGNORED
            ) -> InfrastructureResult:
                os.kill(os.getpid(), signal.SIGINT)
                await anyio.sleep_forever()
                started.append("started")  # cancelled before this: must stay empty
                return InfrastructureResult("nowhere:0", 0)

            async def kill(self, identifier: str, grace_seconds: int = 30) -> None:
                raise AssertionError("nothing started, so nothing is to be killed")

            def preview(self, job: Job | None = None) -> str:
                return "nothing"

        job = Job(entrypoint="flows/demo.py:hello")
        with anyio.fail_after(60):
            outcome = await run_job(SlowToStart(), job, registry=registry)

        assert started == []
        assert outcome.result is None
        assert outcome.state.type is StateType.CANCELLED
        assert outcome.state.message == "cancelled before it started"
        assert recorder.types == [StateType.PENDING, StateType.CANCELLED]


@pytest.mark.parametrize(
    ("code", "cancelled", "expected"),
    [
        (0, False, StateType.COMPLETED),
        (0, True, StateType.COMPLETED),
        (1, False, StateType.FAILED),
        (3, False, StateType.FAILED),
        (143, True, StateType.CANCELLED),
        (-9, False, StateType.CRASHED),
        (137, False, StateType.CRASHED),
        (2, False, StateType.CRASHED),
    ],
)
def test_state_for_result(code: int, cancelled: bool, expected: StateType) -> None:
    result = InfrastructureResult("host:1", code)
    state = state_for_result(result, cancelled)
    assert state.type is expected
    assert state.identifier == "host:1"
    assert state.result is result
    assert state.message == result.describe()
