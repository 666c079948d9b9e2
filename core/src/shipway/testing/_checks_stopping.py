"""Conformance checks on stopping runs and what they leave: identifiers that ``kill``
understands from anywhere, graceful then forced stops, a run elsewhere left alone, a
cancelled ``run()``, and a flow's leftovers."""

from __future__ import annotations

import contextlib
import time
import uuid

import anyio
import pytest

from shipway.infrastructure import (
    Infrastructure,
    InfrastructureError,
    InfrastructureNotAvailable,
    InfrastructureNotFound,
    InfrastructureResult,
    Job,
)
from shipway.testing._project import FlowJobs
from shipway.testing._running import RecordingSink, result_of, started
from shipway.testing._suite import ConformanceBase, end_or_cancel

__all__ = ["StoppingChecks"]


class StoppingChecks(ConformanceBase):
    """``kill``, cancellation and the end of a run."""

    def test_identifiers_round_trip(
        self, infrastructure: Infrastructure, flow_jobs: FlowJobs
    ) -> None:
        finished = self._run(self._run_to_end, infrastructure, flow_jobs.hello())
        identifier = finished.identifier

        assert isinstance(identifier, str) and identifier, (
            f"run() reported {identifier!r} through task_status.started()"
        )
        assert finished.result.identifier == identifier, (
            f"run() reported {identifier!r} when it started but returned a result for "
            f"{finished.result.identifier!r}"
        )
        # The run has ended: kill, here or from another process, finds nothing to stop.
        try:
            self._run(infrastructure.kill, identifier, 1)
        except InfrastructureNotFound:
            pass
        except InfrastructureError as exc:
            pytest.fail(
                f"kill({identifier!r}) of a run that has ended raised {exc!r}, not "
                "InfrastructureNotFound: kill must understand every identifier run() "
                "reports, and say 'not found' once the run is gone",
                pytrace=False,
            )
        else:
            pytest.fail(
                f"kill({identifier!r}) of a run that has ended returned without raising "
                "InfrastructureNotFound: callers cannot tell a stopped run from one "
                "that was already gone",
                pytrace=False,
            )
        killer = self._run(self._kill_from_another_process, infrastructure, identifier, 1)
        assert killer.returncode == 0, killer.stderr
        assert killer.stdout.startswith("not found:"), killer.stdout + killer.stderr

    def test_kill_from_another_process_stops_the_run_within_the_grace_period(
        self, infrastructure: Infrastructure, flow_jobs: FlowJobs
    ) -> None:
        grace = self.kill_grace_seconds
        sink = RecordingSink()
        job = flow_jobs.sleeper(self._bounded(self._kill_wait(grace)))

        result, seconds = self._run(
            self._start_then_kill, infrastructure, job, b"started", grace, sink
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
        job = flow_jobs.stubborn(self._bounded(self._kill_wait(grace)))

        result, seconds = self._run(
            self._start_then_kill, infrastructure, job, b"ignoring SIGTERM", grace, sink
        )

        assert seconds <= grace + self.kill_margin_seconds, (
            f"the run took {seconds:.1f}s to end after kill(grace_seconds={grace})"
        )
        assert result.status_code != 0, (result, sink.text())
        assert "slept to the end" not in sink.text()

    def test_kill_of_a_run_elsewhere_is_not_available(
        self, infrastructure: Infrastructure, flow_jobs: FlowJobs
    ) -> None:
        sink = RecordingSink()
        job = flow_jobs.sleeper(self._bounded(self.run_timeout_seconds))

        elsewhere, raised, result = self._run(
            self._kill_elsewhere_while_running, infrastructure, job, sink
        )

        if elsewhere is None:
            pytest.skip("identifier_elsewhere() returned None: the platform has one place")
        assert isinstance(raised, InfrastructureNotAvailable), (
            f"kill({elsewhere!r}), an identifier naming another place than this instance "
            f"reaches, {'raised ' + repr(raised) if raised else 'returned'} instead of "
            "raising InfrastructureNotAvailable: kill must check where a run lives (the "
            "host, engine or cluster in its identifier) before acting on it, and leave a "
            "run elsewhere to whoever can reach it"
        )
        assert result is None, (
            f"kill({elsewhere!r}) stopped the run here, {job.flow_run_id}: "
            f"{self._describe(result, sink)}"
        )

    def test_cancelling_run_stops_what_it_started(
        self, infrastructure: Infrastructure, flow_jobs: FlowJobs
    ) -> None:
        marker = f"shipway-conformance-cancel-{uuid.uuid4().hex}"
        sink = RecordingSink()
        wait = self.cancel_margin_seconds + self.leftover_margin_seconds
        job = flow_jobs.holds_child(marker, self._bounded(wait))

        seconds = self._run(self._start_then_cancel, infrastructure, job, sink)
        left = self._run(self._leftovers_after, infrastructure, marker)

        assert seconds <= self.cancel_margin_seconds, (
            f"run() took {seconds:.1f}s to return once cancelled "
            f"(cancel_margin_seconds={self.cancel_margin_seconds:g}): stop what it started "
            f"promptly, then let the cancellation through. Output:\n{sink.text()}"
        )
        assert not left, (
            f"run() was cancelled (its task group was), yet what it started still runs "
            f"{self.leftover_margin_seconds:g}s later: {sorted(left)}. When run() is "
            "cancelled, it must stop the run on the platform (in a shielded cancel scope: "
            "`except BaseException: with anyio.CancelScope(shield=True): ...stop it...; "
            "raise`), so that nothing outlives a cancelled caller"
        )

    def test_a_run_ends_when_its_flow_returns_and_leaves_nothing_behind(
        self, infrastructure: Infrastructure, flow_jobs: FlowJobs
    ) -> None:
        marker = f"shipway-conformance-leftover-{uuid.uuid4().hex}"
        sink = RecordingSink()
        job = flow_jobs.leaves_child(marker, self._bounded(2 * self.leftover_margin_seconds))

        result = self._run(self._run_past_return, infrastructure, job, sink)
        left = self._run(self._leftovers_after, infrastructure, marker)

        assert result.status_code == 0, f"{result.describe()}; output:\n{sink.text()}"
        assert not left, (
            f"a process the flow started still runs {self.leftover_margin_seconds:g}s after "
            f"its run ended: {sorted(left)}. What a flow leaves behind must not outlive "
            "its run: once the engine has exited, stop what is left of the run (SIGTERM, "
            "then SIGKILL, as a container's end does)"
        )

    # -- helpers -----------------------------------------------------------------------

    def _kill_wait(self, grace_seconds: int) -> float:
        """The longest a kill check waits once the flow's first line has arrived."""
        return self.first_line_timeout_seconds + grace_seconds + self.kill_margin_seconds

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
                await self._first_line(sink, marker, handle)
                began = time.monotonic()
                killer = await self._kill_from_another_process(
                    infrastructure, handle.identifier, grace_seconds
                )
                # A failed kill leaves the run going: raising here cancels it.
                assert killer.returncode == 0, killer.stdout + killer.stderr
                assert killer.stdout.strip() == "killed", killer.stdout + killer.stderr
                in_time = await end_or_cancel(handle, began + limit)
                still_running_after = None if in_time else time.monotonic() - began
        assert still_running_after is None, (
            f"the run was still going {still_running_after:.1f}s after the process calling "
            f"kill(grace_seconds={grace_seconds}) started, though it printed 'killed': kill "
            "must stop the run gracefully first, then by force "
            f"(SIGKILL or the platform's equivalent) once the grace period is over. "
            f"Output:\n{sink.text()}"
        )
        return result_of(handle, infrastructure), time.monotonic() - began

    async def _kill_elsewhere_while_running(
        self, infrastructure: Infrastructure, job: Job, sink: RecordingSink
    ) -> tuple[str | None, BaseException | None, InfrastructureResult | None]:
        """Start ``job`` (a sleeper), call ``kill`` on its identifier made to name
        another place, and note what that raised and whether the run ended; then stop
        the run for real."""
        with anyio.fail_after(2 * self.run_timeout_seconds):  # a safety net
            async with started(infrastructure, job, sink) as handle:
                await self._first_line(sink, b"started", handle)
                elsewhere = self.identifier_elsewhere(infrastructure, handle.identifier)
                raised: BaseException | None = None
                if elsewhere is not None:
                    try:
                        await infrastructure.kill(elsewhere, 1)
                    except Exception as exc:
                        raised = exc
                    await anyio.sleep(1)  # a kill that did act has had time to end it
                result = handle.result
                with contextlib.suppress(InfrastructureNotFound):
                    await infrastructure.kill(handle.identifier, 1)
        return elsewhere, raised, result

    async def _start_then_cancel(
        self, infrastructure: Infrastructure, job: Job, sink: RecordingSink
    ) -> float:
        """Start ``job``, wait for its first line, cancel ``run()``'s task group and
        return how long ``run()`` took to give up."""
        async with started(infrastructure, job, sink) as handle:
            await self._first_line(sink, b"started child", handle)
            began = time.monotonic()
            assert handle.cancel_scope is not None
            handle.cancel_scope.cancel()
        return time.monotonic() - began

    async def _run_past_return(
        self, infrastructure: Infrastructure, job: Job, sink: RecordingSink
    ) -> InfrastructureResult:
        """Run ``job`` (the leaves_child flow) and return its result; fail, stopping the
        run by cancelling it, if it has not ended ``leftover_margin_seconds`` after the
        flow's last line."""
        limit = self.leftover_margin_seconds
        with anyio.fail_after(2 * (self.run_timeout_seconds + limit)):  # a safety net
            async with started(infrastructure, job, sink) as handle:
                await self._first_line(sink, b"returning", handle)
                returned = time.monotonic()
                in_time = await end_or_cancel(handle, returned + limit)
                late = None if in_time else time.monotonic() - returned
        assert late is None, (
            f"the run was still going {late:.1f}s after its flow returned, held up by a "
            "process the flow started and left running. The run ends when the engine "
            "exits, not when its output reaches end-of-file (the processes it started "
            "inherit its stdout and stderr): stop what it left behind then, as a "
            f"container's end does. Output:\n{sink.text()}"
        )
        return result_of(handle, infrastructure)
