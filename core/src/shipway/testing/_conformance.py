"""The infrastructure conformance suite: one test class a plugin author subclasses."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Hashable, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import anyio
import pytest
from pydantic import ValidationError

from shipway.infrastructure import (
    JOB_ENV_MAX_BYTES,
    JOB_ENV_VAR,
    Infrastructure,
    InfrastructureNotFound,
    InfrastructureResult,
    Job,
    output_sink,
)
from shipway.plugins import (
    INFRASTRUCTURE_GROUP,
    PluginPolicy,
    PluginRegistry,
    PluginStatus,
    find_plugin_sources,
)
from shipway.testing._killer import KILLER_SCRIPT
from shipway.testing._processes import child_pids, processes_with
from shipway.testing._project import FlowJobs, ShipwayProject
from shipway.testing._running import (
    FinishedRun,
    RecordingSink,
    RunHandle,
    result_of,
    run_job,
    started,
)

__all__ = ["ECHO_VARIABLE", "InfrastructureConformance"]

T = TypeVar("T")

ECHO_VARIABLE = "SHIPWAY_CONFORMANCE_VALUE"
"""The environment variable the parameters-and-env test sets and the echo flow prints."""

_SECRET = "conformance-secret-3f9a"
_POLL_SECONDS = 0.05


class InfrastructureConformance:
    """Checks that an infrastructure plugin keeps the whole contract.

    Subclass it in a test module (the subclass's name must start with ``Test``) and
    provide the :meth:`infrastructure` fixture: an instance configured to run in
    your environment::

        import pytest

        from shipway.testing import InfrastructureConformance
        from shipway_acme import Acme


        class TestAcmeConformance(InfrastructureConformance):
            @pytest.fixture
            def infrastructure(self) -> Acme:
                return Acme(region="test")

    The plugin must be installed (``pip install -e .``): discovery through its entry
    point is part of the contract, and ``kill`` is tried from another process that
    finds the class by its type name.

    Where the platform cannot see this machine's files (a container image, a cluster),
    override :meth:`flow_jobs` as well: return ``FlowJobs(working_dir=...)`` naming the
    directory that holds ``flows/`` (from :func:`shipway.testing.standard_flows_dir`)
    as the platform sees it, or ``FlowJobs()`` when it is the platform's default
    working directory (an image whose ``WORKDIR`` holds ``flows/``).

    Class attributes tune the checks to a slower or different platform.
    """

    run_timeout_seconds: ClassVar[float] = 120.0
    """Longest a run of a standard flow may take, start-up included."""

    kill_grace_seconds: ClassVar[int] = 10
    """The grace period passed to ``kill``."""

    kill_margin_seconds: ClassVar[float] = 60.0
    """A killed run must have ended within ``kill_grace_seconds`` plus this, counted
    from the start of the process that kills it (whose own start-up it includes)."""

    forced_kill_grace_seconds: ClassVar[int] = 2
    """The grace period passed to ``kill`` for a run that ignores the graceful stop:
    short, since the check waits it out before the run is forced to end."""

    leftover_margin_seconds: ClassVar[float] = 15.0
    """A flow that returns while a process it started still runs: its run must have ended
    within this many seconds of the flow's last line, and that process must be gone
    within as many again once the run has ended."""

    kill_runs_cleanup: ClassVar[bool] = True
    """``kill`` stops gracefully first, so the flow's ``finally`` blocks run and what they
    print arrives. Set False for a platform that drops output once a run is stopping."""

    streams_are_separate: ClassVar[bool] = True
    """stdout and stderr arrive as separate streams. Set False for a platform that
    has a single log stream (Kubernetes pod logs): output is then checked on either."""

    anyio_backend_name: ClassVar[str] = "asyncio"
    """The anyio backend the checks run on."""

    # -- what the subclass provides ----------------------------------------------------

    @pytest.fixture
    def infrastructure(self) -> Infrastructure:
        """The infrastructure under test, configured to run in your environment.

        Override this fixture in your subclass; every check uses it.
        """
        pytest.fail(
            f"{type(self).__name__} must provide the 'infrastructure' fixture: an instance "
            "of your Infrastructure class configured to run here, e.g.\n\n"
            "    @pytest.fixture\n"
            "    def infrastructure(self):\n"
            "        return MyInfrastructure()\n",
            pytrace=False,
        )

    @pytest.fixture
    def flow_jobs(self, tmp_path: Path) -> FlowJobs:
        """Jobs for the standard test flows (hello, echo, failing, sleeper).

        Default: a fresh project directory on this machine holding ``flows/``, used as
        each job's working directory, which suits infrastructure running on this
        machine. Override it when the platform sees the project somewhere else.
        """
        return ShipwayProject.create(tmp_path / "project").jobs

    def platform_snapshot(self, infrastructure: Infrastructure) -> Collection[Hashable]:
        """What runs on the platform now (container ids, pod names...): ``preview``
        must add nothing to it. Default: this process's child processes (Linux)."""
        return child_pids()

    def leftover_processes(self, infrastructure: Infrastructure, marker: str) -> Collection[str]:
        """The processes still running with ``marker`` on their command line: what a
        test flow started and left behind (the marker is unique to one check).

        Default: this machine's processes, read from /proc (Linux; none elsewhere),
        which include those in the containers of a Docker engine on this machine.
        Override it where runs happen on other machines: list the matching processes
        there (``ps``, ``pgrep -f``), or what still runs of the run on the platform."""
        return processes_with(marker)

    def kill_command(
        self, infrastructure: Infrastructure, identifier: str, grace_seconds: int
    ) -> list[str]:
        """The command line of the *other* process that calls ``kill``.

        It must print ``killed`` once the run is stopped, or ``not found: ...`` when
        ``kill`` raised InfrastructureNotFound. The default runs :data:`KILLER_SCRIPT`
        with this interpreter, passing the configuration as ``model_dump_json()``;
        override it if your configuration does not survive a JSON round trip.
        """
        return [
            sys.executable,
            "-c",
            KILLER_SCRIPT,
            type(infrastructure).type_name(),
            infrastructure.model_dump_json(),
            identifier,
            str(grace_seconds),
        ]

    # -- discovery and configuration ---------------------------------------------------

    def test_type_is_discovered_through_its_entry_point(
        self, infrastructure: Infrastructure
    ) -> None:
        cls = type(infrastructure)
        type_name = cls.type_name()
        assert infrastructure.type == type_name, (
            f"the instance's type {infrastructure.type!r} differs from the class's default "
            f"{type_name!r}"
        )
        sources = find_plugin_sources(INFRASTRUCTURE_GROUP, type_name)
        assert sources, (
            f"no entry point named {type_name!r} in the group {INFRASTRUCTURE_GROUP!r}. "
            "Declare it in pyproject.toml and install the plugin (pip install -e .):\n"
            f'    [project.entry-points."{INFRASTRUCTURE_GROUP}"]\n'
            f'    {type_name} = "{cls.__module__.split(".")[0]}.plugin"'
            "   # the module with your @hookimpl functions"
        )
        claimants = {f"{s.distribution} {s.version}" for s in sources}
        assert len(claimants) == 1, f"{type_name!r} is claimed by {sorted(claimants)}"
        resolved = PluginRegistry(PluginPolicy()).resolve(type_name)
        assert resolved is cls, (
            f"a fresh registry resolves {type_name!r} to {resolved.__module__}."
            f"{resolved.__qualname__}, not to {cls.__module__}.{cls.__qualname__}"
        )

    def test_plugin_is_listed_as_loaded(self, infrastructure: Infrastructure) -> None:
        type_name = type(infrastructure).type_name()
        rows = [
            info
            for info in PluginRegistry(PluginPolicy()).list_plugins()
            if info.name == type_name and info.kind == "infrastructure"
        ]
        assert rows, f"`shipway plugins` does not list {type_name!r}"
        for row in rows:
            assert row.status is PluginStatus.LOADED, f"`shipway plugins` shows {row}"
            assert "shipway_infrastructure_types" in row.hooks

    def test_schema_is_valid_and_every_field_is_documented(
        self, infrastructure: Infrastructure
    ) -> None:
        cls = type(infrastructure)
        schema = cls.model_json_schema()
        json.dumps(schema)  # JSON through and through, for `shipway infra schema`
        properties = schema.get("properties", {})
        assert properties.get("type", {}).get("default") == cls.type_name(), properties.get("type")
        own_fields = set(cls.model_fields) - set(Infrastructure.model_fields)
        undocumented = sorted(
            name for name in own_fields if not (cls.model_fields[name].description or "").strip()
        )
        assert not undocumented, (
            f"fields without a description: {', '.join(undocumented)}. "
            "Declare them with Field(description=...) so `shipway infra schema` explains them."
        )
        for name in own_fields:
            key = cls.model_fields[name].alias or name
            assert key in properties, f"field {name!r} is missing from the JSON schema"

    def test_unknown_fields_are_rejected(self, infrastructure: Infrastructure) -> None:
        cls = type(infrastructure)
        data = {**infrastructure.model_dump(), "not_a_real_field": 1}
        try:
            cls.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors()
        else:
            pytest.fail(
                f"{cls.__name__} accepted an unknown field: keep the base class's "
                "model_config extra='forbid', so a typo in a config file is an error",
                pytrace=False,
            )
        assert any(
            e["type"] == "extra_forbidden" and e["loc"] == ("not_a_real_field",) for e in errors
        ), f"the unknown field was not what failed validation: {errors}"

    # -- running -----------------------------------------------------------------------

    def test_hello_flow_runs_and_its_output_arrives(
        self, infrastructure: Infrastructure, flow_jobs: FlowJobs
    ) -> None:
        finished = self._run(self._run_to_end, infrastructure, flow_jobs.hello("conformance"))

        assert finished.result.status_code == 0, self._explain(finished)
        assert finished.result.succeeded
        assert "Hello, conformance!\n" in self._stdout(finished.output), self._explain(finished)

    def test_parameters_and_env_arrive(
        self, infrastructure: Infrastructure, flow_jobs: FlowJobs
    ) -> None:
        value = "from the environment: 42"
        configured = infrastructure.model_copy(
            update={"env": {**infrastructure.env, ECHO_VARIABLE: value}}
        )
        job = flow_jobs.echo("hello there", count=3, items=[1, "two", None, {"x": 1.5}])

        finished = self._run(self._run_to_end, configured, job)

        assert finished.result.status_code == 0, self._explain(finished)
        marker = "shipway-echo: "
        lines = [s for s in self._stdout(finished.output).splitlines() if s.startswith(marker)]
        assert lines, self._explain(finished)
        assert json.loads(lines[-1][len(marker) :]) == {
            "message": "hello there",
            "count": 3,
            "items": [1, "two", None, {"x": 1.5}],
            "variable": ECHO_VARIABLE,
            "value": value,
        }

    def test_the_job_handover_wins_over_an_env_entry_of_the_same_name(
        self, infrastructure: Infrastructure, flow_jobs: FlowJobs
    ) -> None:
        not_the_job = Job(entrypoint="flows/not_the_job.py:not_the_job").to_json()
        configured = infrastructure.model_copy(
            update={"env": {**infrastructure.env, JOB_ENV_VAR: not_the_job}}
        )

        finished = self._run(self._run_to_end, configured, flow_jobs.hello("hand-over"))

        ran_the_job = "Hello, hand-over!\n" in self._stdout(finished.output)
        assert finished.result.status_code == 0 and ran_the_job, (
            f"an env entry named {JOB_ENV_VAR} replaced the job the run was given: the "
            "hand-over must win. Build the run's environment with "
            "self.job_environment(job), which lays the hand-over over env; "
            f"{self._explain(finished)}"
        )

    def test_a_job_too_large_for_an_environment_variable_arrives_intact(
        self, infrastructure: Infrastructure, flow_jobs: FlowJobs
    ) -> None:
        data = _large_text(1024 * 1024)  # 1 MiB: 8 times what a variable may hold on Linux
        advice = (
            "a job with a 1 MiB parameter did not arrive intact. A job over "
            f"JOB_ENV_MAX_BYTES ({JOB_ENV_MAX_BYTES}) must be handed over in a file: put "
            "self.job_file_content(job) where the engine can read it and pass that path to "
            "self.job_environment(job, job_file=...), or, for an engine on this machine, "
            "use self.local_job_environment(job)"
        )

        try:
            finished = self._run(self._run_to_end, infrastructure, flow_jobs.digest(data))
        except Exception as exc:  # "Argument list too long", say
            pytest.fail(f"{advice}; run() raised {_innermost(exc)!r}", pytrace=False)

        digest = hashlib.sha256(data.encode()).hexdigest()
        arrived = f"shipway-digest: {len(data)} {digest}\n" in self._stdout(finished.output)
        assert finished.result.status_code == 0 and arrived, f"{advice}; {self._explain(finished)}"

    def test_failing_flow_gives_a_non_zero_status(
        self, infrastructure: Infrastructure, flow_jobs: FlowJobs
    ) -> None:
        # Awaited directly, without task_status: run() must work with the default too.
        sink = RecordingSink()

        async def run_directly(job: Job) -> Any:
            with output_sink(sink), anyio.fail_after(self.run_timeout_seconds):
                return await infrastructure.run(job)

        result = self._run(run_directly, flow_jobs.failing("failing on purpose"))

        assert result.status_code != 0, f"a flow that raised ended with status 0:\n{sink.text()}"
        assert not result.succeeded
        stderr = sink.text("stderr") if self.streams_are_separate else sink.text()
        assert "RuntimeError: failing on purpose" in stderr, sink.text()

    def test_identifiers_round_trip(
        self, infrastructure: Infrastructure, flow_jobs: FlowJobs
    ) -> None:
        finished = self._run(self._run_to_end, infrastructure, flow_jobs.hello())
        identifier = finished.identifier

        assert isinstance(identifier, str) and identifier, (
            f"run() reported {identifier!r} through task_status.started()"
        )
        assert finished.result.identifier == identifier
        # The run has ended: kill, here or from another process, finds nothing to stop.
        with pytest.raises(InfrastructureNotFound):
            self._run(infrastructure.kill, identifier, 1)
        killer = self._run(self._kill_from_another_process, infrastructure, identifier, 1)
        assert killer.returncode == 0, killer.stderr
        assert killer.stdout.startswith("not found:"), killer.stdout + killer.stderr

    def test_kill_from_another_process_stops_the_run_within_the_grace_period(
        self, infrastructure: Infrastructure, flow_jobs: FlowJobs
    ) -> None:
        grace = self.kill_grace_seconds
        sink = RecordingSink()

        result, seconds = self._run(
            self._start_then_kill, infrastructure, flow_jobs.sleeper(), b"started", grace, sink
        )

        assert seconds <= grace + self.kill_margin_seconds, (
            f"the run took {seconds:.1f}s to end after kill(grace_seconds={grace})"
        )
        assert result.status_code != 0, (result, sink.text())
        assert "slept to the end" not in sink.text()
        if self.kill_runs_cleanup:
            assert "cleanup" in self._stdout(sink), (
                "the flow's cleanup did not run: kill must stop gracefully first "
                f"(SIGTERM or the platform's equivalent). Output:\n{sink.text()}"
            )

    def test_kill_forces_a_run_that_ignores_the_graceful_stop(
        self, infrastructure: Infrastructure, flow_jobs: FlowJobs
    ) -> None:
        grace = self.forced_kill_grace_seconds
        sink = RecordingSink()

        result, seconds = self._run(
            self._start_then_kill,
            infrastructure,
            flow_jobs.stubborn(),
            b"ignoring SIGTERM",
            grace,
            sink,
        )

        assert seconds <= grace + self.kill_margin_seconds, (
            f"the run took {seconds:.1f}s to end after kill(grace_seconds={grace})"
        )
        assert result.status_code != 0, (result, sink.text())
        assert "slept to the end" not in sink.text()

    def test_a_run_ends_when_its_flow_returns_and_leaves_nothing_behind(
        self, infrastructure: Infrastructure, flow_jobs: FlowJobs
    ) -> None:
        marker = f"shipway-conformance-leftover-{uuid.uuid4().hex}"
        sink = RecordingSink()

        result = self._run(
            self._run_past_return, infrastructure, flow_jobs.leaves_child(marker), sink
        )
        left = self._run(self._leftovers_after_the_run, infrastructure, marker)

        assert result.status_code == 0, f"{result.describe()}; output:\n{sink.text()}"
        assert not left, (
            f"a process the flow started still runs {self.leftover_margin_seconds:g}s after "
            f"its run ended: {sorted(left)}. What a flow leaves behind must not outlive "
            "its run: once the engine has exited, stop what is left of the run (SIGTERM, "
            "then SIGKILL, as a container's end does)"
        )

    # -- preview -----------------------------------------------------------------------

    def test_preview_has_no_side_effects(
        self, infrastructure: Infrastructure, flow_jobs: FlowJobs
    ) -> None:
        job = flow_jobs.hello("preview")
        sink = RecordingSink()
        before = set(self.platform_snapshot(infrastructure))
        with output_sink(sink):
            first = infrastructure.preview(job)
            second = infrastructure.preview(job)
            placeholder = infrastructure.preview()
        after = set(self.platform_snapshot(infrastructure))

        assert isinstance(first, str) and first.strip(), f"preview returned {first!r}"
        assert first == second, "preview of the same job changed between two calls"
        assert isinstance(placeholder, str) and placeholder.strip(), "preview() without a job"
        assert not sink.lines, f"preview produced run output: {sink.text()!r}"
        assert not after - before, f"preview started something: {sorted(map(str, after - before))}"

    def test_preview_masks_secrets(
        self, infrastructure: Infrastructure, flow_jobs: FlowJobs
    ) -> None:
        configured = infrastructure.model_copy(
            update={"env": {**infrastructure.env, "SHIPWAY_CONFORMANCE_API_TOKEN": _SECRET}}
        )

        text = configured.preview(flow_jobs.hello())

        assert _SECRET not in text, f"preview shows the value of a secret variable:\n{text}"

    # -- helpers -----------------------------------------------------------------------

    def _run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        return anyio.run(functools.partial(fn, *args), backend=self.anyio_backend_name)

    async def _run_to_end(self, infrastructure: Infrastructure, job: Job) -> FinishedRun:
        return await run_job(infrastructure, job, timeout=self.run_timeout_seconds)

    async def _start_then_kill(
        self,
        infrastructure: Infrastructure,
        job: Job,
        marker: bytes,
        grace_seconds: int,
        sink: RecordingSink,
    ) -> tuple[InfrastructureResult, float]:
        """Start ``job``, wait for ``marker`` in its output, ``kill`` it from another
        process, and wait for the run to end. Returns its result and the seconds from
        the start of the killing process to the end of the run; fails, stopping the run
        by cancelling it, if the run is still going after the grace period plus the
        margin."""
        limit = grace_seconds + self.kill_margin_seconds
        with anyio.fail_after(2 * (self.run_timeout_seconds + limit)):  # a safety net
            async with started(infrastructure, job, sink) as handle:
                await sink.wait_for(marker, self.run_timeout_seconds)
                began = time.monotonic()
                killer = await self._kill_from_another_process(
                    infrastructure, handle.identifier, grace_seconds
                )
                # A failed kill leaves the run going: raising here cancels it.
                assert killer.returncode == 0, killer.stdout + killer.stderr
                assert killer.stdout.strip() == "killed", killer.stdout + killer.stderr
                in_time = await _end_or_cancel(handle, began + limit)
                still_running_after = None if in_time else time.monotonic() - began
        assert still_running_after is None, (
            f"the run was still going {still_running_after:.1f}s after the process calling "
            f"kill(grace_seconds={grace_seconds}) started, though it printed 'killed': kill "
            "must stop the run gracefully first, then by force "
            f"(SIGKILL or the platform's equivalent) once the grace period is over. "
            f"Output:\n{sink.text()}"
        )
        return result_of(handle, infrastructure), time.monotonic() - began

    async def _run_past_return(
        self, infrastructure: Infrastructure, job: Job, sink: RecordingSink
    ) -> InfrastructureResult:
        """Run ``job`` (the leaves_child flow) and return its result; fail, stopping the
        run by cancelling it, if it has not ended ``leftover_margin_seconds`` after the
        flow's last line."""
        limit = self.leftover_margin_seconds
        with anyio.fail_after(2 * (self.run_timeout_seconds + limit)):  # a safety net
            async with started(infrastructure, job, sink) as handle:
                await sink.wait_for(b"returning", self.run_timeout_seconds)
                returned = time.monotonic()
                in_time = await _end_or_cancel(handle, returned + limit)
                late = None if in_time else time.monotonic() - returned
        assert late is None, (
            f"the run was still going {late:.1f}s after its flow returned, held up by a "
            "process the flow started and left running. The run ends when the engine "
            "exits, not when its output reaches end-of-file (the processes it started "
            "inherit its stdout and stderr): stop what it left behind then, as a "
            f"container's end does. Output:\n{sink.text()}"
        )
        return result_of(handle, infrastructure)

    async def _leftovers_after_the_run(
        self, infrastructure: Infrastructure, marker: str
    ) -> Collection[str]:
        """What still runs with ``marker``, after waiting up to the margin for it to go."""
        with anyio.move_on_after(self.leftover_margin_seconds):
            while self.leftover_processes(infrastructure, marker):
                await anyio.sleep(_POLL_SECONDS)
        return self.leftover_processes(infrastructure, marker)

    async def _kill_from_another_process(
        self, infrastructure: Infrastructure, identifier: str, grace_seconds: int
    ) -> subprocess.CompletedProcess[str]:
        command = self.kill_command(infrastructure, identifier, grace_seconds)
        # Generous, a safety net against a kill that hangs: how soon the run must end is
        # checked on the run itself, from the moment this process was started.
        limit = self.run_timeout_seconds + grace_seconds + self.kill_margin_seconds
        with anyio.fail_after(limit):
            done = await anyio.run_process(command, check=False)
        return subprocess.CompletedProcess(
            command,
            done.returncode,
            done.stdout.decode(errors="replace"),
            done.stderr.decode(errors="replace"),
        )

    def _stdout(self, sink: RecordingSink) -> str:
        return sink.text("stdout") if self.streams_are_separate else sink.text()

    @staticmethod
    def _explain(finished: FinishedRun) -> str:
        return f"{finished.result.describe()}; output:\n{finished.output.text()}"


def _innermost(exc: BaseException) -> BaseException:
    """The one exception inside task groups' exception groups, if there is only one."""
    inner: Sequence[BaseException] = getattr(exc, "exceptions", ())
    while len(inner) == 1:
        exc = inner[0]
        inner = getattr(exc, "exceptions", ())
    return exc


def _large_text(size: int) -> str:
    """``size`` characters of pseudo-random text (the same every time), which compress
    as real data does, not as a repeated character would."""
    raw = random.Random(size).randbytes(size)
    return base64.b64encode(raw).decode("ascii")[:size]


async def _end_or_cancel(handle: RunHandle, deadline: float) -> bool:
    """Wait for the run's result until ``deadline`` (``time.monotonic()``); past it,
    cancel the run (``run()`` must stop what it started) and return False."""
    with anyio.move_on_after(max(0.0, deadline - time.monotonic())):
        while handle.result is None:
            await anyio.sleep(_POLL_SECONDS)
    if handle.result is None and handle.cancel_scope is not None:
        handle.cancel_scope.cancel()
        return False
    return True
