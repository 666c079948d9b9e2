"""The ``sandbox`` infrastructure."""

# The `--8<--` comments mark the parts the tutorial (docs/tutorial/index.md) shows.
# --8<-- [start:imports]
from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from typing import Literal

import anyio
from anyio.abc import Process, TaskStatus
from pydantic import Field
from shipway.infrastructure import (
    Infrastructure,
    InfrastructureError,
    InfrastructureNotAvailable,
    InfrastructureNotFound,
    InfrastructureResult,
    Job,
    mask_secrets,
)

# How long a run that reached its time limit gets between SIGTERM and SIGKILL.
GRACE_AFTER_TIME_LIMIT = 10
# How long what a flow left running gets between SIGTERM and SIGKILL, once it returned.
GRACE_FOR_LEFTOVERS = 2
# --8<-- [end:imports]


# --8<-- [start:fields]
class Sandbox(Infrastructure):
    """Run the flow as a local process that sees only the environment variables it is
    allowed, and stop it when it runs longer than its time limit.

    The identifier is ``hostname:pid``; the run leads its own process group, so
    :meth:`kill` stops it and everything it started, from any process on this host.
    """

    type: Literal["sandbox"] = "sandbox"
    allow_env: list[str] = Field(
        default_factory=lambda: ["PATH", "HOME", "LANG", "TZ"],
        description="Variables of shipway's own environment the run may see; all others "
        "are left out. Variables set in `env` always reach the run.",
    )
    timeout_seconds: float | None = Field(
        default=None,
        gt=0,
        description="Stop the run after this many seconds (SIGTERM, then SIGKILL "
        f"{GRACE_AFTER_TIME_LIMIT} s later); null: no time limit.",
    )
    # --8<-- [end:fields]

    # --8<-- [start:environment]
    def _command(self) -> list[str]:
        return self.job_command(sys.executable)  # `command`, or python -m shipway.engine

    def _environment(self, handover: Mapping[str, str | None]) -> dict[str, str]:
        """The allowed part of this process's environment, then `env` and the job."""
        environment = {k: v for k, v in os.environ.items() if k in self.allow_env}
        for key, value in handover.items():
            if value is None:  # null in `env`: unset it
                environment.pop(key, None)
            else:
                environment[key] = value
        return environment

    # --8<-- [end:environment]

    # --8<-- [start:run]
    async def run(
        self, job: Job, task_status: TaskStatus[str] = anyio.TASK_STATUS_IGNORED
    ) -> InfrastructureResult:
        # A job too large for a variable is in a file until the run is over.
        with self.local_job_environment(job) as handover:
            return await self._run(job, handover, task_status)

    async def _run(
        self, job: Job, handover: Mapping[str, str | None], task_status: TaskStatus[str]
    ) -> InfrastructureResult:
        command = self._command()
        try:
            process = await anyio.open_process(
                command,
                cwd=job.working_dir,
                env=self._environment(handover),
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group, for kill()
            )
        except OSError as exc:
            raise InfrastructureError(
                f"cannot start {shlex.join(command)}: {exc.strerror or exc}",
                hint="Check `command` on the sandbox infrastructure.",
            ) from exc
        identifier = f"{socket.gethostname()}:{process.pid}"
        task_status.started(identifier)

        timed_out = False

        async def enforce_time_limit(seconds: float) -> None:
            nonlocal timed_out
            await anyio.sleep(seconds)
            timed_out = True
            with contextlib.suppress(InfrastructureNotFound):  # it ended just now
                await self.kill(identifier, GRACE_AFTER_TIME_LIMIT)

        try:
            async with anyio.create_task_group() as limit:
                if self.timeout_seconds is not None:
                    limit.start_soon(enforce_time_limit, self.timeout_seconds)
                async with anyio.create_task_group() as pumps:
                    pumps.start_soon(self.forward_output, process.stdout, "stdout")
                    pumps.start_soon(self.forward_output, process.stderr, "stderr")
                    status_code = await _exit_status(process)
                    # The run is over. What the flow left running in its process group
                    # goes too: it would hold the output pipes open, and the run with them.
                    with contextlib.suppress(InfrastructureNotFound):  # nothing was left
                        await self.kill(identifier, GRACE_FOR_LEFTOVERS)
                limit.cancel_scope.cancel()  # it ended in time
        except BaseException:
            # Cancelled (Ctrl-C while starting, or the caller gave up): stop the run
            # before letting the cancellation through, so nothing is left behind.
            with anyio.CancelScope(shield=True):
                if process.returncode is None:
                    with contextlib.suppress(InfrastructureNotFound):
                        await self.kill(identifier, GRACE_AFTER_TIME_LIMIT)
                    await process.wait()
            raise
        reason = f"time limit of {self.timeout_seconds:g} s reached" if timed_out else None
        return InfrastructureResult(identifier, status_code, reason=reason)

    # --8<-- [end:run]

    # --8<-- [start:kill]
    async def kill(self, identifier: str, grace_seconds: int = 30) -> None:
        host, _, pid = identifier.rpartition(":")
        if not host or not pid.isdigit():
            raise InfrastructureError(f"{identifier!r} is not a sandbox run (hostname:pid)")
        if host != socket.gethostname():
            raise InfrastructureNotAvailable(
                f"sandbox run {identifier} lives on host {host!r}; stop it from there"
            )
        group = int(pid)  # the run leads its own process group
        if not _signal_group(group, signal.SIGTERM):
            raise InfrastructureNotFound(f"sandbox run {identifier} has already ended")
        with anyio.move_on_after(grace_seconds):
            while _signal_group(group, 0):  # signal 0: "does it still exist?"
                await anyio.sleep(0.1)
            return
        _signal_group(group, signal.SIGKILL)  # the grace period is over

    # --8<-- [end:kill]

    # --8<-- [start:preview]
    def preview(self, job: Job | None = None) -> str:
        job = self.preview_job(job)
        environment = mask_secrets(self._environment(self.job_environment(job)))
        lines = [f"cd {shlex.quote(job.working_dir)} &&"] if job.working_dir else []
        lines.append("env -i")  # start from an empty environment
        lines += [f"{key}={shlex.quote(value or '')}" for key, value in environment.items()]
        lines.append(shlex.join(self._command()))
        text = " \\\n  ".join(lines)
        if self.timeout_seconds is not None:
            text += f"\n# stopped after {self.timeout_seconds:g} s"
        return text

    # --8<-- [end:preview]


# --8<-- [start:exit_status]
async def _exit_status(process: Process) -> int:
    """The engine's exit status, as soon as it has exited. Not ``process.wait()``: before
    Python 3.12 that also waits for the output pipes, which processes the flow started
    inherit and may hold open long after."""
    while process.returncode is None:
        await anyio.sleep(0.05)
    return process.returncode


# --8<-- [end:exit_status]


# --8<-- [start:signal_group]
def _signal_group(group: int, signum: int) -> bool:
    """Send ``signum`` to a process group; False if the group no longer exists."""
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        return False
    return True


# --8<-- [end:signal_group]
