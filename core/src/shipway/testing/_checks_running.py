"""Conformance checks on running a job: output, parameters and env, the hand-over, a
large job, the exit status, and output that arrives while the flow still runs."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import time
from typing import Any

import anyio
import pytest

from shipway.infrastructure import (
    JOB_ENV_MAX_BYTES,
    JOB_ENV_VAR,
    Infrastructure,
    InfrastructureResult,
    Job,
    StreamName,
    output_sink,
)
from shipway.testing._project import FlowJobs
from shipway.testing._running import RecordingSink, result_of, started
from shipway.testing._suite import ConformanceBase, innermost

__all__ = ["ECHO_VARIABLE", "RunningChecks"]

ECHO_VARIABLE = "SHIPWAY_CONFORMANCE_VALUE"
"""The environment variable the parameters-and-env test sets and the echo flow prints."""

# The unflushed flow sleeps this long after its line: the line must arrive at least half
# of it before the run ends.
_UNFLUSHED_SECONDS = 4.0


class RunningChecks(ConformanceBase):
    """A run runs the job it was given and reports what happened."""

    def test_hello_flow_runs_and_its_output_arrives(
        self, infrastructure: Infrastructure, flow_jobs: FlowJobs
    ) -> None:
        finished = self._run(self._run_to_end, infrastructure, flow_jobs.hello("conformance"))

        assert finished.result.status_code == 0, self._explain(finished)
        assert finished.result.succeeded
        assert "Hello, conformance!\n" in self._stdout(finished.output), self._explain(finished)

    def test_output_arrives_while_the_flow_runs(
        self, infrastructure: Infrastructure, flow_jobs: FlowJobs
    ) -> None:
        sink = RecordingSink()
        arrived: dict[str, float] = {}

        def note_arrival(stream: StreamName, data: bytes) -> None:
            if b"printed without flush" in data:
                arrived.setdefault(stream, time.monotonic())

        sink.on_line = note_arrival
        result, ended = self._run(
            self._run_and_time, infrastructure, flow_jobs.unflushed(_UNFLUSHED_SECONDS), sink
        )

        explanation = f"{result.describe()}; output:\n{sink.text()}"
        assert result.status_code == 0, explanation
        assert arrived, f"the unflushed line never arrived; {explanation}"
        early = ended - min(arrived.values())
        assert early >= _UNFLUSHED_SECONDS / 2, (
            f"a line the flow printed without flushing arrived {early:.1f}s before the run "
            f"ended, though the flow slept {_UNFLUSHED_SECONDS:g}s after printing it: output "
            "must arrive while the flow runs. Start the engine with the environment "
            "job_environment(job) returns (it holds PYTHONUNBUFFERED=1), and forward each "
            "line as it arrives (forward_output), not when the run ends"
        )
        if self.streams_are_separate:
            assert "stdout" in arrived, f"the line arrived on {sorted(arrived)}, not stdout"

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
            pytest.fail(f"{advice}; run() raised {innermost(exc)!r}", pytrace=False)

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
        assert "RuntimeError: failing on purpose" in stderr, (
            "the flow's traceback did not arrive on stderr (keep stdout and stderr apart, "
            f"or set streams_are_separate = False for a platform with one log):\n{sink.text()}"
        )

    async def _run_and_time(
        self, infrastructure: Infrastructure, job: Job, sink: RecordingSink
    ) -> tuple[InfrastructureResult, float]:
        """Run ``job`` to its end; its result and when ``run()`` returned."""
        with anyio.fail_after(self.run_timeout_seconds):
            async with started(infrastructure, job, sink) as handle:
                pass
        return result_of(handle, infrastructure), time.monotonic()


def _large_text(size: int) -> str:
    """``size`` characters of pseudo-random text (the same every time), which compress
    as real data does, not as a repeated character would."""
    raw = random.Random(size).randbytes(size)
    return base64.b64encode(raw).decode("ascii")[:size]
