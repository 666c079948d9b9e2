"""The engine: the process every infrastructure starts to run one flow run.

``python -m shipway.engine`` reads the job from ``SHIPWAY_FLOW_RUN`` (or from the file
``SHIPWAY_FLOW_RUN_FILE`` names, for a job too large for a variable), imports the flow,
validates its parameters, runs it and exits with a ``shipway.exit_status.ExitStatus``
(or the status the flow gave ``sys.exit``). It never talks to a database; the
infrastructure reports the exit status upwards.

A job whose code comes from storage is prepared first (its code pulled, ``working_dir``
pointed at it) by the step ``python -m shipway.engine`` passes in (see ``__main__``): the
engine itself knows no plugin kind.
"""

from __future__ import annotations

import inspect
import os
import signal
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from shipway._run_context import use_log_lines
from shipway._tracebacks import user_traceback
from shipway.entrypoints import FlowImportError, load_flow
from shipway.environment import DEBUG_VAR, flag_is_set
from shipway.errors import ShipwayError
from shipway.exit_status import ExitStatus
from shipway.jobs import EXIT_STATUS_FILE_VAR, Job, JobFormatError

__all__ = ["EXIT_STATUS_FILE_VAR", "JobPreparation", "run_job"]

_SHIPWAY_DIR = str(Path(__file__).resolve().parent.parent)
_NOT_USER_CODE = (_SHIPWAY_DIR, "<frozen importlib.")


class Terminated(BaseException):
    """Raised inside the flow on SIGTERM so its cleanup runs; not an ``Exception``."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated(f"received signal {signal.Signals(signum).name}")


def _say(message: str) -> None:
    print(f"shipway.engine: {message}", file=sys.stderr, flush=True)


def _user_traceback(exc: BaseException) -> TracebackType | None:
    """Drop shipway's (and the import machinery's) frames so the user sees their code:
    the engine's own, and the flow and task wrappers' (see ``shipway._tracebacks``)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_NOT_USER_CODE):
        tb = tb.tb_next
    return user_traceback(tb) or exc.__traceback__


def _print_user_error(exc: BaseException) -> None:
    exc = exc.with_traceback(_user_traceback(exc))
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    sys.stderr.flush()


JobPreparation = Callable[[Job], Job]
"""What runs before the flow is imported, returning the job to run (its code pulled)."""


def run_job(job: Job, prepare: JobPreparation | None = None) -> int:
    """Run one job in this process and return the engine's exit code. ``prepare``
    failing with a ``ShipwayError`` means the run could not start, like a missing flow."""
    use_log_lines()  # before the flow's module logs: records travel as shipway.log_lines
    try:
        if prepare is not None:
            job = prepare(job)
        flow = load_flow(job.entrypoint, job.working_dir)
        parameters = flow.validate_parameters(job.parameters)
    except ShipwayError as exc:
        if flag_is_set(DEBUG_VAR):  # `shipway run --debug` passes this on
            traceback.print_exc()
        _say(f"cannot start flow run {job.flow_run_id}: {exc}")
        return ExitStatus.CANNOT_START
    except FlowImportError as exc:
        cause = exc.__cause__ or exc
        _print_user_error(cause)
        _say(f"cannot start flow run {job.flow_run_id}: {exc}")
        return ExitStatus.CANNOT_START
    except Exception as exc:
        # Anything else before the flow runs (user code reached while looking the flow
        # up, or a shipway bug) still means "could not start", never "the flow failed".
        _print_user_error(exc)
        _say(f"cannot start flow run {job.flow_run_id}: unexpected {type(exc).__name__}: {exc}")
        return ExitStatus.CANNOT_START

    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        result: Any = flow(**parameters)
        if inspect.isawaitable(result):
            import asyncio  # only async flows pay for it

            asyncio.run(_await(result))
    except Terminated as exc:
        _say(f"flow run {job.flow_run_id} stopped: {exc}")
        return ExitStatus.TERMINATED
    except (Exception, KeyboardInterrupt) as exc:
        _print_user_error(exc)
        _say(f"flow {flow.name!r} failed: {type(exc).__name__}: {exc}")
        return ExitStatus.FAILED
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if code != 0 and code % 256 == 0:  # the OS keeps the low byte: 256 would read as 0
            code = ExitStatus.FAILED
        if code != 0:
            _say(f"flow {flow.name!r} called sys.exit({exc.code!r})")
        return code
    finally:
        signal.signal(signal.SIGTERM, previous)
    return ExitStatus.COMPLETED


async def _await(awaitable: Any) -> Any:
    return await awaitable


def main(
    environ: Mapping[str, str] | None = None, prepare: JobPreparation | None = None
) -> int:
    environ = os.environ if environ is None else environ
    try:
        job = Job.from_environment(environ)
    except JobFormatError as exc:
        _say(f"cannot start: {exc}")
        code: int = ExitStatus.CANNOT_START
    else:
        if environ.get(EXIT_STATUS_FILE_VAR):
            _outlive_the_reader()
        code = run_job(job, prepare)
    status_file = environ.get(EXIT_STATUS_FILE_VAR)
    if status_file:
        _write_exit_status(status_file, code)
    return code


class _OutputThatOutlivesItsReader:
    """stdout/stderr that switch to /dev/null once their reader is gone.

    When the agent watching a run dies, the pipe it read breaks; without this the
    flow's next ``print`` would raise ``BrokenPipeError`` and fail a run that was
    otherwise fine. Its later output is lost; its exit status is still recorded.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def _to_devnull(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self._stream.fileno())
        finally:
            os.close(devnull)

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except BrokenPipeError:
            self._to_devnull()
            return int(self._stream.write(text))

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._to_devnull()
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _outlive_the_reader() -> None:
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        try:
            stream.fileno()
        except (AttributeError, OSError, ValueError):  # not a real file: nothing to guard
            continue
        setattr(sys, name, _OutputThatOutlivesItsReader(stream))


def _write_exit_status(path: str, code: int) -> None:
    """Write ``{"exit_code": N}`` atomically: a reader sees the whole file or none."""
    import json

    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temporary, "w", encoding="utf-8") as file:
            json.dump({"exit_code": code}, file)
        os.replace(temporary, path)
    except OSError as exc:  # the run's outcome matters more than this note about it
        _say(f"cannot write the exit status to {path}: {exc}")
