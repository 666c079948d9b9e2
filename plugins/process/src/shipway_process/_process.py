from __future__ import annotations

import contextlib
import functools
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import ClassVar, Literal, TypeVar

import anyio
import anyio.abc
from anyio.abc import TaskStatus
from pydantic import Field, model_validator

from shipway.infrastructure import (
    ENGINE_MODULE,
    EXIT_STATUS_FILE_VAR,
    JOB_FILE_ENV_VAR,
    Infrastructure,
    InfrastructureError,
    InfrastructureNotAvailable,
    InfrastructureNotFound,
    InfrastructureResult,
    Job,
    mask_secrets,
    without_shipway_secrets,
)
from shipway_process._groups import (
    ensure_group_leader,
    leader_alive,
    leftovers_message,
    stop_group,
    stop_leftovers,
)
from shipway_process._pipes import OutputPipes
from shipway_process._watch_files import RunFiles

__all__ = ["Process"]

T = TypeVar("T")

# When a run is cancelled in-process (not through kill), its group gets this long.
_CANCEL_GRACE_SECONDS = 10
# What the engine left behind in its process group gets this long after SIGTERM, once
# the engine has exited (the run is over then; they are only in the way).
_LEFTOVER_GRACE_SECONDS = 2
# Once the run is over, its pipes are read this much longer at most, for output still
# on its way: a process that left the run's group may keep them open for ever.
_DRAIN_SECONDS = 2
# What a preview shows for a job too large for an environment variable.
_PREVIEW_JOB_FILE = os.path.join(tempfile.gettempdir(), "shipway-job-XXXXXXXX.json")
# A re-attached run's engine that still seems to run this long after writing its exit
# status is taken as gone (see _engine_exit_code).
_EXITING_SECONDS = 5
# `conda run` can take a while to start; a probe slower than this is not waited for.
_PROBE_TIMEOUT_SECONDS = 60
# How often a re-attached run (not our child: no wait()) is checked for having ended.
_REATTACH_POLL_SECONDS = 0.2
# Interpreters (and directories) already seen to import shipway, checked once per process.
_ENGINE_IMPORTABLE: set[tuple[tuple[str, ...], str]] = set()


class Process(Infrastructure):
    """Run the flow as a child process of this machine, in its own process group.

    The identifier is ``hostname:pid``; :meth:`kill` stops the whole group from any
    process on the same host, and :meth:`reattach` follows it to its end from another
    process (an agent restarted after a crash). POSIX only (Linux, macOS).
    """

    type: Literal["process"] = "process"
    field_descriptions: ClassVar[Mapping[str, str]] = {
        "name": "Not used: a local process has no name of its own.",
        "labels": "Not used: a local process has no labels (the run's own are in the store).",
        "command": "The command that starts the flow run, in place of "
        "<interpreter> -m shipway.engine; it must start the engine.",
    }
    stream_output: bool = Field(
        default=True, description="Stream the run's stdout and stderr as lines arrive."
    )
    working_dir: str | None = Field(
        default=None,
        description="Directory the process starts in; default: the project directory "
        "(where the deployment file is).",
    )
    python: str | None = Field(
        default=None,
        description="Interpreter to run the flow with (path or name on PATH); "
        "default: the one running shipway.",
    )
    virtualenv: str | None = Field(
        default=None, description="Run with this virtual environment's interpreter (its directory)."
    )
    conda_env: str | None = Field(
        default=None,
        description="Run inside this conda environment (a name, or a path) via `conda run`.",
    )

    @model_validator(mode="after")
    def _one_interpreter(self) -> Process:
        chosen = [f for f in ("python", "virtualenv", "conda_env") if getattr(self, f)]
        if len(chosen) > 1:
            raise ValueError(
                f"{' and '.join(chosen)} are mutually exclusive: set at most one of "
                "python, virtualenv, conda_env"
            )
        if chosen and self.command:
            raise ValueError(
                f"command replaces the whole command line, so {chosen[0]} would be ignored: "
                f"set either command or {chosen[0]}"
            )
        return self

    # -- what to start -------------------------------------------------------------

    def _interpreter(self) -> list[str]:
        if self.virtualenv:
            venv = Path(self.virtualenv).expanduser()
            binary = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
            return [str(binary)]
        if self.conda_env:
            flag = "-p" if os.sep in self.conda_env else "-n"
            return ["conda", "run", "--no-capture-output", flag, self.conda_env, "python"]
        return [self.python or sys.executable]

    def _cwd(self, job: Job) -> Path:
        """``working_dir`` (relative to the project directory), else the project directory."""
        project = Path(job.working_dir or os.getcwd())
        if not self.working_dir:
            return project
        return project / Path(self.working_dir).expanduser()

    def _environment(
        self,
        handover: Mapping[str, str | None],
        inherited: Mapping[str, str],
        files: RunFiles | None = None,
    ) -> dict[str, str]:
        """``inherited`` with the run's environment (``env`` and the job hand-over) laid
        over it; ``None`` unsets a variable."""
        env = without_shipway_secrets(inherited)  # the agent's own; a run references its own
        for key, value in handover.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        if files is not None:
            env[EXIT_STATUS_FILE_VAR] = str(files.exit_status)
        return env

    def _check_startable(self, job: Job, command: list[str]) -> None:
        cwd = self._cwd(job)
        if not cwd.is_dir():
            problem = "is not a directory" if cwd.exists() else "does not exist"
            raise InfrastructureError(
                f"working directory {str(cwd)!r} {problem}",
                hint="Fix 'working_dir' on the process infrastructure, or create the directory.",
            )
        if self.virtualenv and not Path(command[0]).exists():
            raise InfrastructureError(
                f"virtualenv {self.virtualenv!r} has no interpreter at {command[0]}",
                hint="Point 'virtualenv' at the environment's directory (the one holding bin/).",
            )
        if (
            shutil.which(command[0], path=os.environ.get("PATH")) is None
            and not Path(command[0]).exists()
        ):
            what = "conda" if self.conda_env else repr(command[0])
            raise InfrastructureError(
                f"cannot start the flow run: {what} not found",
                hint="Install it or fix 'python' / 'command' on the process infrastructure.",
            )

    async def _check_engine_importable(self, job: Job, environment: Mapping[str, str]) -> None:
        """Another interpreter may lack shipway; say so instead of failing as the flow would."""
        interpreter = self._interpreter()
        key = (tuple(interpreter), str(self._cwd(job)))
        if self.command or not (self.python or self.virtualenv or self.conda_env):
            return
        if key in _ENGINE_IMPORTABLE:
            return
        with anyio.move_on_after(_PROBE_TIMEOUT_SECONDS):
            try:
                probe = await anyio.run_process(
                    [*interpreter, "-c", f"import {ENGINE_MODULE}"],
                    cwd=self._cwd(job),
                    env=environment,
                    check=False,
                )
            except OSError as exc:  # not executable, not a program, a directory...
                raise InfrastructureError(
                    f"cannot start the flow run with {shlex.join(interpreter)}: "
                    f"{exc.strerror or exc}",
                    hint="Point 'python' / 'virtualenv' at a Python interpreter "
                    "(or 'conda_env' at a conda environment).",
                ) from exc
            if probe.returncode != 0:
                lines = probe.stderr.decode(errors="replace").strip().splitlines()
                raise InfrastructureError(
                    f"{shlex.join(interpreter)} cannot run the flow: it cannot import shipway "
                    f"({lines[-1] if lines else f'exit {probe.returncode}'})",
                    hint=f"Install shipway into that environment: "
                    f"{shlex.join(interpreter)} -m pip install shipway",
                )
            _ENGINE_IMPORTABLE.add(key)

    # -- the contract --------------------------------------------------------------

    async def run(
        self, job: Job, task_status: TaskStatus[str] = anyio.TASK_STATUS_IGNORED
    ) -> InfrastructureResult:
        command = self.job_command(self._interpreter())
        self._check_startable(job, command)
        files = RunFiles.new()
        with self.local_job_environment(job) as handover:
            job_file = handover.get(JOB_FILE_ENV_VAR)
            if files is not None and job_file:  # removed by whoever sees the run end
                files.job = Path(job_file)
            environment = self._environment(handover, os.environ, files)
            await self._check_engine_importable(job, environment)
            return await self._start(command, job, environment, files, task_status)

    async def _start(
        self,
        command: list[str],
        job: Job,
        environment: dict[str, str],
        files: RunFiles | None,
        task_status: TaskStatus[str],
    ) -> InfrastructureResult:
        """Start the engine and follow it to its end."""
        pipes = OutputPipes(self.stream_output)
        try:
            try:
                process = await anyio.open_process(
                    command,
                    cwd=self._cwd(job),
                    env=environment,
                    stdin=subprocess.DEVNULL,
                    stdout=pipes.child_end("stdout"),
                    stderr=pipes.child_end("stderr"),
                    start_new_session=True,  # its own process group: kill reaches its children
                )
            except OSError as exc:
                raise InfrastructureError(
                    f"cannot start {shlex.join(command)}: {exc.strerror or exc}"
                ) from exc
            finally:
                pipes.close_child_ends()
            identifier = f"{socket.gethostname()}:{process.pid}"
            if files is not None:
                files.record_started(identifier)
            task_status.started(identifier)
            try:
                code, leftovers = await self._forward_while(
                    pipes, functools.partial(_until_engine_exits, process)
                )
            except BaseException:
                # Cancelled (not killed): stop the group, and keep what it printed on the way out.
                with anyio.CancelScope(shield=True):
                    await self._forward_while(
                        pipes, functools.partial(_stop_quietly, process.pid, _CANCEL_GRACE_SECONDS)
                    )
                    await process.wait()
                    if files is not None:
                        files.remove()
                raise
        finally:
            pipes.close()
        if leftovers:
            self.write_output("stderr", leftovers_message(leftovers))
        if files is not None:  # we saw it end: nobody needs to re-attach
            files.remove()
        return InfrastructureResult(identifier=identifier, status_code=code)

    async def _forward_while(self, pipes: OutputPipes, until: Callable[[], Awaitable[T]]) -> T:
        """Forward the run's output while ``until()`` runs, then for at most
        ``_DRAIN_SECONDS`` more: the pipes end once every process holding them has gone,
        but one that left the run's process group may hold them for ever."""
        drained = anyio.Event()

        async def forward_all() -> None:
            async with anyio.create_task_group() as readers:
                for name, chunks in pipes.readers():
                    readers.start_soon(self.forward_output, chunks, name)
            drained.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(forward_all)
            result = await until()
            with anyio.move_on_after(_DRAIN_SECONDS):
                await drained.wait()
            tg.cancel_scope.cancel()
        return result

    async def kill(self, identifier: str, grace_seconds: int = 30) -> None:
        pid = _local_pid(identifier, "stopped")
        try:
            ensure_group_leader(pid)
        except InfrastructureNotFound:
            # The engine has exited: what it left behind in its group goes too.
            await stop_leftovers(pid, grace_seconds)
            raise
        await stop_group(pid, grace_seconds)

    async def reattach(self, identifier: str) -> InfrastructureResult:
        """Follow a run another process started (its agent died) until it ends.

        As for a run started here, the run is over when its engine exits, and what the
        engine left behind in its process group is then stopped. It is not our child, so
        the engine is polled; the exit status comes from the file it writes
        (``SHIPWAY_EXIT_STATUS_FILE``). Its output went to the dead agent's pipe and is
        not recovered: the engine sends it to /dev/null once that pipe breaks, so the
        flow itself carries on unharmed.
        """
        pid = _local_pid(identifier, "followed")
        files = RunFiles.find(identifier)
        code = await _engine_exit_code(pid, files)
        leftovers = await stop_leftovers(pid, _LEFTOVER_GRACE_SECONDS)
        if leftovers:
            self.write_output("stderr", leftovers_message(leftovers))
        if files is not None:
            files.remove()
        if code is None:
            raise InfrastructureNotFound(
                f"flow run process {identifier} ended while no agent watched it and left "
                "no exit status (killed by a signal, or not started by the shipway engine)"
            )
        return InfrastructureResult(identifier=identifier, status_code=code)

    def preview(self, job: Job | None = None) -> str:
        job = self.preview_job(job)
        job_file = _PREVIEW_JOB_FILE if self.job_file_content(job) is not None else None
        environment = mask_secrets(self.job_environment(job, job_file=job_file))
        unset = [f"-u {shlex.quote(k)}" for k, v in environment.items() if v is None]
        assigned = [f"{k}={shlex.quote(v)}" for k, v in environment.items() if v is not None]
        return " \\\n  ".join(
            [
                f"cd {shlex.quote(str(self._cwd(job)))} &&",
                " ".join(["env", *unset]),
                *assigned,
                shlex.join(self.job_command(self._interpreter())),
            ]
        )


async def _until_engine_exits(process: anyio.abc.Process) -> tuple[int, list[int]]:
    """The engine's exit status, once it has exited, and what it left in its group
    (stopped by then)."""
    code = await process.wait()
    return code, await stop_leftovers(process.pid, _LEFTOVER_GRACE_SECONDS)


async def _stop_quietly(pgid: int, grace_seconds: int) -> None:
    with contextlib.suppress(InfrastructureNotFound):  # it ended just now
        await stop_group(pgid, grace_seconds)


async def _engine_exit_code(pid: int, files: RunFiles | None) -> int | None:
    """Wait for the engine of a run we did not start to exit; its status from its file.

    The engine writes the file just before it exits. A leader that still seems to run
    well after that is a pid reused by an unrelated process (the run ended long ago),
    or an engine held up while it exits: either way, the status is the answer.
    """
    written_at: float | None = None
    while leader_alive(pid):
        if files is not None and files.exit_code() is not None:
            written_at = written_at if written_at is not None else time.monotonic()
            if time.monotonic() - written_at > _EXITING_SECONDS:
                break
        await anyio.sleep(_REATTACH_POLL_SECONDS)
    return files.exit_code() if files is not None else None


def _local_pid(identifier: str, verb: str) -> int:
    """The pid in ``hostname:pid``, refusing a run that lives on another host."""
    host, _, pid_text = identifier.rpartition(":")
    if not host or not pid_text.isdigit():
        raise InfrastructureError(
            f"{identifier!r} is not a process identifier (expected hostname:pid)"
        )
    if host != socket.gethostname():
        raise InfrastructureNotAvailable(
            f"flow run process {identifier} runs on host {host!r}, not on "
            f"{socket.gethostname()!r}; it can only be {verb} from there"
        )
    return int(pid_text)
