"""The conformance check for the ``ReattachesRuns`` capability: follow a run another
process started (and died leaving behind) to its end, with its real exit status."""

from __future__ import annotations

import contextlib
import subprocess

import anyio
import pytest

from shipway.infrastructure import (
    Infrastructure,
    InfrastructureNotFound,
    InfrastructureResult,
    Job,
    ReattachesRuns,
)
from shipway.testing._project import FlowJobs
from shipway.testing._starter import IDENTIFIER_PREFIX
from shipway.testing._suite import ConformanceBase

__all__ = ["ReattachChecks"]

# The flow's exit status: neither success nor the engine's own failure codes, so only
# the real status can match it.
_EXIT_CODE = 3
# The flow runs this long: the process that started it is killed well before it ends.
_FLOW_SECONDS = 5.0


class ReattachChecks(ConformanceBase):
    """Checks for plugins that declare ``ReattachesRuns`` (skipped for the others)."""

    def test_reattach_follows_a_run_another_process_started(
        self, infrastructure: Infrastructure, flow_jobs: FlowJobs
    ) -> None:
        if not isinstance(infrastructure, ReattachesRuns):
            pytest.skip(f"{type(infrastructure).__name__} does not declare ReattachesRuns")
        job = flow_jobs.exits_later(_FLOW_SECONDS, _EXIT_CODE)

        identifier, starter_output = self._run(self._start_elsewhere, infrastructure, job)
        try:
            result = self._run(self._reattach, infrastructure, identifier)
        except InfrastructureNotFound as exc:
            pytest.fail(
                f"reattach({identifier!r}) raised {exc!r} for a run that another process "
                "started, then died while the run went on: re-attaching must find the run "
                "from its identifier alone and wait for its end. Output of the process "
                f"that started it:\n{starter_output}",
                pytrace=False,
            )

        assert result.identifier == identifier, result
        assert result.status_code == _EXIT_CODE, (
            f"the re-attached run ended with status {result.status_code}, but its flow "
            f"exited with {_EXIT_CODE}: reattach must return the run's real exit status "
            "(the process plugin has the engine write it to SHIPWAY_EXIT_STATUS_FILE; a "
            "container or a Job keeps it on the platform)"
        )

    async def _start_elsewhere(self, infrastructure: Infrastructure, job: Job) -> tuple[str, str]:
        """Start the run from another process, read the identifier it prints, and kill
        that process (SIGKILL, as a crash would) while the run goes on."""
        command = self.start_command(infrastructure, job)
        process = await anyio.open_process(
            command, stdin=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        seen = b""
        try:
            assert process.stdout is not None
            with anyio.move_on_after(self.run_timeout_seconds):
                async for chunk in process.stdout:
                    seen += chunk
                    if _identifier_in(seen):
                        break
        finally:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            with anyio.CancelScope(shield=True):
                await process.wait()
                await process.aclose()
        text = seen.decode(errors="replace")
        identifier = _identifier_in(seen)
        if not identifier:
            pytest.fail(
                "the process starting a run (start_command) printed no identifier within "
                f"{self.run_timeout_seconds:g}s:\n{text}",
                pytrace=False,
            )
        return identifier, text

    async def _reattach(
        self, infrastructure: Infrastructure, identifier: str
    ) -> InfrastructureResult:
        assert isinstance(infrastructure, ReattachesRuns)
        with anyio.fail_after(self.run_timeout_seconds + _FLOW_SECONDS):
            return await infrastructure.reattach(identifier)


def _identifier_in(output: bytes) -> str:
    """The identifier the starting process printed, once its whole line has arrived."""
    for line in output.decode(errors="replace").splitlines(keepends=True):
        if line.startswith(IDENTIFIER_PREFIX) and line.endswith("\n"):
            return line[len(IDENTIFIER_PREFIX) :].strip()
    return ""
