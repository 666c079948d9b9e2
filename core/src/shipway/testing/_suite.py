"""What every group of conformance checks shares: the settings a plugin author tunes,
the hooks a subclass overrides, and the helpers that start, watch and stop runs."""

from __future__ import annotations

import functools
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Collection, Hashable, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import anyio
import pytest

from shipway.infrastructure import Infrastructure, InfrastructureResult, Job
from shipway.testing._killer import KILLER_SCRIPT
from shipway.testing._processes import child_pids, processes_with
from shipway.testing._project import FlowJobs, ShipwayProject
from shipway.testing._running import FinishedRun, RecordingSink, RunHandle, run_job
from shipway.testing._starter import STARTER_SCRIPT

__all__ = ["ConformanceBase", "end_or_cancel", "innermost"]

T = TypeVar("T")

POLL_SECONDS = 0.05
# A flow the suite starts sleeps this much longer than the check that started it can
# wait: long enough to still run when the check gives up, never for ever (a broken
# forced kill leaves it behind only until then).
_FLOW_SLACK_SECONDS = 10.0


class ConformanceBase:
    """The settings, overridable hooks and helpers of :class:`InfrastructureConformance`."""

    run_timeout_seconds: ClassVar[float] = 120.0
    """Longest a run of a standard flow may take, start-up included."""

    first_line_timeout_seconds: ClassVar[float] = 30.0
    """The flow's first line must arrive within this many seconds of ``run()`` reporting
    its identifier. Raise it for a platform that takes longer to start a run (a cluster
    that schedules a pod)."""

    kill_grace_seconds: ClassVar[int] = 10
    """The grace period passed to ``kill``."""

    kill_margin_seconds: ClassVar[float] = 60.0
    """A killed run must have ended within ``kill_grace_seconds`` plus this, counted
    from the start of the process that kills it (whose own start-up it includes)."""

    forced_kill_grace_seconds: ClassVar[int] = 2
    """The grace period passed to ``kill`` for a run that ignores the graceful stop:
    short, since the check waits it out before the run is forced to end."""

    cancel_margin_seconds: ClassVar[float] = 30.0
    """A cancelled ``run()`` must have returned within this many seconds, and what the
    run started must be gone within ``leftover_margin_seconds`` after that."""

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
        """Jobs for the standard test flows (hello, echo, failing, sleeper...).

        Default: a fresh project directory on this machine holding ``flows/``, used as
        each job's working directory, which suits infrastructure running on this
        machine. Override it when the platform sees the project somewhere else.
        """
        return ShipwayProject.create(tmp_path / "project").jobs

    def platform_snapshot(self, infrastructure: Infrastructure) -> Collection[Hashable]:
        """What runs on the platform now that ``preview`` could have started: it must
        add nothing to it. Default: this process's child processes (Linux).

        Snapshot only what this plugin and this test could have started (the containers
        carrying your plugin's labels, the pods in the test's own namespace), not
        everything on the platform: on a shared machine or cluster, others start
        things at any time, and the check would fail on their account.
        """
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

    def start_command(self, infrastructure: Infrastructure, job: Job) -> list[str]:
        """The command line of the *other* process that starts a run for the re-attach
        check (a plugin declaring ``ReattachesRuns``); it is killed once it has printed
        the run's identifier, as an agent that crashed would be.

        The default runs :data:`STARTER_SCRIPT` with this interpreter, passing the type
        name, the configuration as ``model_dump_json()`` and the job as JSON.
        """
        return [
            sys.executable,
            "-c",
            STARTER_SCRIPT,
            type(infrastructure).type_name(),
            infrastructure.model_dump_json(),
            job.to_json(),
        ]

    def identifier_elsewhere(self, infrastructure: Infrastructure, identifier: str) -> str | None:
        """``identifier`` as it would read for a run in another place this instance
        cannot reach (another host, Docker engine or cluster): ``kill`` of it must raise
        InfrastructureNotAvailable and leave the real run alone.

        Default: the identifier with ``elsewhere.invalid-`` put before its first part,
        which suits identifiers that start with where the run lives (``hostname:pid``,
        ``<engine id>:<container id>``, ``<cluster uid>:<namespace>:<job name>``).
        Override it for another layout; return None for a platform that has only one
        place (the check is then skipped).
        """
        return f"elsewhere.invalid-{identifier}"

    # -- helpers -----------------------------------------------------------------------

    def _run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``fn(*args)`` in a fresh event loop; a failure inside a task group comes
        out as itself, not wrapped in an exception group, so pytest shows its message."""
        try:
            return anyio.run(functools.partial(fn, *args), backend=self.anyio_backend_name)
        except BaseException as exc:
            inner = innermost(exc)
            if inner is exc:
                raise
            raise inner from None

    async def _run_to_end(self, infrastructure: Infrastructure, job: Job) -> FinishedRun:
        return await run_job(infrastructure, job, timeout=self.run_timeout_seconds)

    def _bounded(self, wait_seconds: float) -> float:
        """How long a sleeping test flow sleeps when the check waits ``wait_seconds``."""
        return wait_seconds + _FLOW_SLACK_SECONDS

    async def _first_line(self, sink: RecordingSink, needle: bytes, handle: RunHandle) -> None:
        """Wait for the flow's first line (holding ``needle``); fail, saying why, when it
        has not arrived within ``first_line_timeout_seconds``."""
        try:
            await sink.wait_for(needle, self.first_line_timeout_seconds)
        except TimeoutError:
            pytest.fail(
                f"the flow's first line never arrived: run() must forward output as it "
                f"arrives. {needle.decode()!r} was printed (and flushed) as the flow "
                f"began, but nothing held it {self.first_line_timeout_seconds:g}s after "
                f"run() reported {handle.identifier!r} (first_line_timeout_seconds). "
                f"Output so far:\n{sink.text()}",
                pytrace=False,
            )

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

    async def _leftovers_after(
        self, infrastructure: Infrastructure, marker: str
    ) -> Collection[str]:
        """What still runs with ``marker``, after waiting up to the margin for it to go."""
        with anyio.move_on_after(self.leftover_margin_seconds):
            while self.leftover_processes(infrastructure, marker):
                await anyio.sleep(POLL_SECONDS)
        return self.leftover_processes(infrastructure, marker)

    def _stdout(self, sink: RecordingSink) -> str:
        return sink.text("stdout") if self.streams_are_separate else sink.text()

    @staticmethod
    def _explain(finished: FinishedRun) -> str:
        return f"{finished.result.describe()}; output:\n{finished.output.text()}"

    @staticmethod
    def _describe(result: InfrastructureResult | None, sink: RecordingSink) -> str:
        ended = result.describe() if result is not None else "still running"
        return f"{ended}; output:\n{sink.text()}"


def innermost(exc: BaseException) -> BaseException:
    """The one exception inside task groups' exception groups, if there is only one."""
    inner: Sequence[BaseException] = getattr(exc, "exceptions", ())
    while len(inner) == 1:
        exc = inner[0]
        inner = getattr(exc, "exceptions", ())
    return exc


async def end_or_cancel(handle: RunHandle, deadline: float) -> bool:
    """Wait for the run's result until ``deadline`` (``time.monotonic()``); past it,
    cancel the run (``run()`` must stop what it started) and return False."""
    with anyio.move_on_after(max(0.0, deadline - time.monotonic())):
        while handle.result is None:
            await anyio.sleep(POLL_SECONDS)
    if handle.result is None and handle.cancel_scope is not None:
        handle.cancel_scope.cancel()
        return False
    return True
