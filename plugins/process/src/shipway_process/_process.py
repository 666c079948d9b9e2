from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import anyio
from anyio.abc import ByteReceiveStream, TaskStatus
from pydantic import Field, model_validator

from shipway.infrastructure import (
    ENGINE_MODULE,
    EXIT_STATUS_FILE_VAR,
    Infrastructure,
    InfrastructureError,
    InfrastructureNotAvailable,
    InfrastructureNotFound,
    InfrastructureResult,
    Job,
    StreamName,
    mask_secrets,
    without_shipway_secrets,
)
from shipway_process._groups import ensure_group_leader, group_exists, stop_group
from shipway_process._watch_files import RunFiles

__all__ = ["Process"]

# When a run is cancelled in-process (not through kill), its group gets this long.
_CANCEL_GRACE_SECONDS = 10
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
        self, job: Job, inherited: Mapping[str, str], files: RunFiles | None = None
    ) -> dict[str, str]:
        env = without_shipway_secrets(inherited)  # the agent's own; a run references its own
        for key, value in self.job_environment(job).items():
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

    async def _check_engine_importable(self, job: Job) -> None:
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
                    env=self._environment(job, os.environ),
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
        await self._check_engine_importable(job)
        output = subprocess.PIPE if self.stream_output else subprocess.DEVNULL
        files = RunFiles.new()
        try:
            process = await anyio.open_process(
                command,
                cwd=self._cwd(job),
                env=self._environment(job, os.environ, files),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                start_new_session=True,  # its own process group: kill reaches its children
            )
        except OSError as exc:
            raise InfrastructureError(
                f"cannot start {shlex.join(command)}: {exc.strerror or exc}"
            ) from exc
        identifier = f"{socket.gethostname()}:{process.pid}"
        if files is not None:
            files.record_started(identifier)
        task_status.started(identifier)
        streams: list[tuple[ByteReceiveStream, StreamName]] = []
        if process.stdout is not None:
            streams.append((process.stdout, "stdout"))
        if process.stderr is not None:
            streams.append((process.stderr, "stderr"))
        try:
            async with anyio.create_task_group() as tg:
                for stream, name in streams:
                    tg.start_soon(self.forward_output, stream, name)
            code = await process.wait()
        except BaseException:
            # Cancelled (not killed): stop the group, and keep what it printed on the way out.
            with anyio.CancelScope(shield=True):
                async with anyio.create_task_group() as tg:
                    for stream, name in streams:
                        tg.start_soon(self._drain, stream, name)
                    if process.returncode is None:
                        await stop_group(process.pid, _CANCEL_GRACE_SECONDS)
                    await process.wait()
                    if files is not None:
                        files.remove()
            raise
        if files is not None:  # we saw it end: nobody needs to re-attach
            files.remove()
        return InfrastructureResult(identifier=identifier, status_code=code)

    async def _drain(self, stream: ByteReceiveStream, name: StreamName) -> None:
        with anyio.move_on_after(_CANCEL_GRACE_SECONDS + 5):
            await self.forward_output(stream, name)

    async def kill(self, identifier: str, grace_seconds: int = 30) -> None:
        pid = _local_pid(identifier, "stopped")
        ensure_group_leader(pid)
        await stop_group(pid, grace_seconds)

    async def reattach(self, identifier: str) -> InfrastructureResult:
        """Follow a run another process started (its agent died) until it ends.

        It is not our child, so its process group is polled; the exit status comes from
        the file its engine writes (``SHIPWAY_EXIT_STATUS_FILE``). Its output went to the
        dead agent's pipe and is not recovered: the engine sends it to /dev/null once
        that pipe breaks, so the flow itself carries on unharmed.
        """
        pid = _local_pid(identifier, "followed")
        files = RunFiles.find(identifier)
        # The engine leaves its status just before it exits: the run is over then, as for
        # a watched run, even if processes the flow started live on in its group (and a
        # recycled pid cannot keep us waiting).
        while (code := files.exit_code() if files is not None else None) is None:
            if not group_exists(pid):
                code = files.exit_code() if files is not None else None  # written at the end
                break
            await anyio.sleep(_REATTACH_POLL_SECONDS)
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
        environment = mask_secrets(self.job_environment(job))
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
