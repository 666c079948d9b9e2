"""The engine, run the way every infrastructure runs it: ``python -m shipway.engine``
in a real child process with the job in SHIPWAY_FLOW_RUN (or, when it is too large for
a variable, in the file SHIPWAY_FLOW_RUN_FILE names)."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shipway.exit_status import ExitStatus
from shipway.infrastructure import JOB_ENV_VAR, JOB_FILE_ENV_VAR, Job

Write = Callable[[str, str], Path]
TIMEOUT = 60

FLOWS = """
import asyncio
import sys
import time

from shipway import flow


@flow
def hello(name: str = "world", times: int = 1):
    for _ in range(times):
        print(f"Hello {name}!")
    print("to stderr", file=sys.stderr)


def explode(value):
    raise ValueError(f"the flow broke on purpose with {value}")


@flow
def failing(value: int = 7):
    explode(value)


@flow
async def async_hello(count: int):
    await asyncio.sleep(0)
    print(f"async count={count * 2}")


@flow
def sleepy():
    try:  # "started" is printed inside the try, so a signal after it always runs finally
        print("started", flush=True)
        time.sleep(120)
    finally:
        print("cleanup ran", flush=True)


@flow
async def async_sleepy():
    try:  # "started" is printed inside the try, so a signal after it always runs finally
        print("started", flush=True)
        await asyncio.sleep(120)
    finally:
        print("async cleanup ran", flush=True)


@flow
def exits(code):
    sys.exit(code)
"""


def _environment(job: Job | None) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    environment["PYTHONUNBUFFERED"] = "1"
    if job is not None:
        environment[JOB_ENV_VAR] = job.to_json()
    return environment


def _engine(job: Job | None, cwd: Path, **popen: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "shipway.engine"],
        cwd=cwd,
        env=_environment(job),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def run_engine(job: Job | None, cwd: Path) -> subprocess.CompletedProcess[str]:
    with _engine(job, cwd) as process:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.fixture
def project(write: Write, tmp_path: Path) -> Path:
    write("flows/demo.py", FLOWS)
    return tmp_path


def job(entrypoint: str, project: Path, **parameters: Any) -> Job:
    return Job(entrypoint=entrypoint, parameters=parameters, working_dir=str(project))


def test_runs_the_flow_and_exits_0(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    result = run_engine(job("flows/demo.py:hello", project, name="Ada", times="2"), elsewhere)
    assert result.returncode == ExitStatus.COMPLETED == 0, result.stderr
    assert result.stdout == "Hello Ada!\nHello Ada!\n"
    assert result.stderr == "to stderr\n"


def test_flow_raising_exits_1_with_the_users_traceback(project: Path) -> None:
    result = run_engine(job("flows/demo.py:failing", project), project)
    assert result.returncode == ExitStatus.FAILED == 1
    stderr = result.stderr
    assert "ValueError: the flow broke on purpose with 7" in stderr
    frames = [line.strip() for line in stderr.splitlines() if line.strip().startswith("File ")]
    demo = str(project / "flows" / "demo.py")
    assert frames, stderr
    assert frames[0].startswith(f'File "{demo}"') and "in failing" in frames[0]
    assert frames[-1].startswith(f'File "{demo}"') and "in explode" in frames[-1]
    shipway_dir = f"{os.sep}shipway{os.sep}"
    assert not any(shipway_dir in frame for frame in frames), frames
    # the user's own line is shown
    assert 'raise ValueError(f"the flow broke on purpose with {value}")' in stderr
    assert stderr.rstrip().splitlines()[-1] == (
        "shipway.engine: flow 'failing' failed: ValueError: the flow broke on purpose with 7"
    )


def test_async_flow(project: Path) -> None:
    result = run_engine(job("flows/demo.py:async_hello", project, count="21"), project)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "async count=42\n"


def test_module_entrypoint_resolved_in_working_dir(write: Write, project: Path) -> None:
    write("flows/__init__.py", "")
    result = run_engine(job("flows.demo:hello", project), project)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello world!\n"


def _assert_cannot_start(result: subprocess.CompletedProcess[str], reason: str) -> None:
    assert result.returncode == ExitStatus.CANNOT_START == 3
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    first_line = result.stderr.splitlines()[0]
    assert first_line.startswith("shipway.engine: cannot start")
    assert reason in first_line


def test_missing_flow_file_exits_3_with_one_line_reason(project: Path) -> None:
    result = run_engine(job("flows/nope.py:hello", project), project)
    _assert_cannot_start(result, "flow file 'flows/nope.py' not found")


def test_missing_function_exits_3(project: Path) -> None:
    result = run_engine(job("flows/demo.py:nope", project), project)
    _assert_cannot_start(result, "'nope' not found in flows/demo.py (flows defined there:")


def test_bad_parameters_exit_3_listing_every_problem(project: Path) -> None:
    result = run_engine(job("flows/demo.py:hello", project, times="often", colour="red"), project)
    _assert_cannot_start(result, "parameters do not match flow 'hello'")
    assert "unknown parameter 'colour'" in result.stderr
    assert "parameter 'times'" in result.stderr


def test_flow_file_raising_on_import_exits_3_with_its_traceback(
    write: Write, project: Path
) -> None:
    write("flows/broken.py", "from shipway import flow\n\n1 / 0\n")
    result = run_engine(job("flows/broken.py:main", project), project)
    assert result.returncode == ExitStatus.CANNOT_START
    lines = result.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[1].strip().startswith(f'File "{project / "flows" / "broken.py"}", line 3')
    assert "ZeroDivisionError: division by zero" in result.stderr
    assert lines[-1].endswith("importing flows/broken.py raised ZeroDivisionError")


def test_an_unexpected_error_while_looking_the_flow_up_is_cannot_start_not_failed(
    write: Write, project: Path
) -> None:
    # The module imports fine, but looking the flow up runs code that raises.
    write(
        "flows/lazy.py",
        """
        def __getattr__(name):
            raise RuntimeError(f"lazy lookup of {name} broke")
        """,
    )
    result = run_engine(job("flows/lazy.py:anything", project), project)

    assert result.returncode == ExitStatus.CANNOT_START, result.stderr
    assert 'flows/lazy.py", line 2, in __getattr__' in result.stderr  # where it broke
    last = result.stderr.splitlines()[-1]
    assert last.startswith("shipway.engine: cannot start flow run ")
    assert last.endswith(": unexpected RuntimeError: lazy lookup of anything broke")
    assert "flow 'anything' failed" not in result.stderr


def test_a_function_without_a_signature_runs_with_its_parameters_unchecked(
    project: Path,
) -> None:
    result = run_engine(job("builtins:print", project, sep="-"), project)

    assert result.returncode == ExitStatus.COMPLETED, result.stderr
    assert result.stdout == "\n"


def test_missing_hand_over_exits_3(tmp_path: Path) -> None:
    result = run_engine(None, tmp_path)
    assert result.returncode == ExitStatus.CANNOT_START
    assert result.stderr.startswith("shipway.engine: cannot start: SHIPWAY_FLOW_RUN is not set")
    assert "Traceback" not in result.stderr


def test_malformed_hand_over_exits_3(tmp_path: Path) -> None:
    environment = _environment(None)
    environment[JOB_ENV_VAR] = "{not json"
    result = subprocess.run(
        [sys.executable, "-m", "shipway.engine"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == ExitStatus.CANNOT_START
    assert "SHIPWAY_FLOW_RUN is not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr


def test_hand_over_with_a_wrongly_typed_field_exits_3(tmp_path: Path) -> None:
    environment = _environment(None)
    environment[JOB_ENV_VAR] = '{"entrypoint": 42}'
    result = subprocess.run(
        [sys.executable, "-m", "shipway.engine"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == ExitStatus.CANNOT_START
    assert "SHIPWAY_FLOW_RUN 'entrypoint' must be a string, not 42" in result.stderr
    assert "Traceback" not in result.stderr


def _run_with_environment(
    environment: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipway.engine"],
        cwd=cwd,
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


@pytest.mark.skipif(sys.platform != "linux", reason="Linux's limit: 128 KiB per variable")
def test_a_job_too_large_for_a_variable_cannot_be_handed_over_in_one(project: Path) -> None:
    """Why the file exists: the operating system refuses the variable (Linux: over 128 KiB)."""
    large = job("flows/demo.py:hello", project, name="x" * 200_000)

    with pytest.raises(OSError, match="Argument list too long"):
        run_engine(large, project)


@pytest.mark.parametrize("compressed", [False, True], ids=["json", "gzip"])
def test_the_job_can_be_handed_over_in_a_file(
    project: Path, tmp_path: Path, compressed: bool
) -> None:
    name = "x" * 1024 * 1024  # far too large for an environment variable
    text = job("flows/demo.py:hello", project, name=name).to_json().encode()
    job_file = tmp_path / "job.json"
    job_file.write_bytes(gzip.compress(text) if compressed else text)
    environment = _environment(None)
    environment[JOB_FILE_ENV_VAR] = str(job_file)

    result = _run_with_environment(environment, project)

    assert result.returncode == ExitStatus.COMPLETED, result.stderr[-2000:]
    assert result.stdout == f"Hello {name}!\n"


def test_the_variable_wins_over_the_file(project: Path, tmp_path: Path) -> None:
    job_file = tmp_path / "job.json"
    job_file.write_text(job("flows/demo.py:hello", project, name="file").to_json())
    environment = _environment(job("flows/demo.py:hello", project, name="variable"))
    environment[JOB_FILE_ENV_VAR] = str(job_file)

    result = _run_with_environment(environment, project)

    assert result.stdout == "Hello variable!\n", result.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "which cannot be read: No such file or directory"),
        (b"{not json", "the job file {path} is not valid JSON"),
        (b"\x1f\x8bnot gzip", "which is not valid gzip"),
    ],
)
def test_a_bad_job_file_exits_3_naming_it(
    tmp_path: Path, content: bytes | None, expected: str
) -> None:
    job_file = tmp_path / "job.json"
    if content is not None:
        job_file.write_bytes(content)
    environment = _environment(None)
    environment[JOB_FILE_ENV_VAR] = str(job_file)

    result = _run_with_environment(environment, tmp_path)

    assert result.returncode == ExitStatus.CANNOT_START
    assert expected.format(path=job_file) in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("code", "expected"), [(5, 5), (0, 0), (None, 0), ("message", 1), (256, 1), (-256, 1)]
)
def test_sys_exit_in_the_flow_sets_the_exit_code(
    project: Path, code: object, expected: int
) -> None:
    result = run_engine(job("flows/demo.py:exits", project, code=code), project)
    assert result.returncode == expected, result.stderr
    assert "Traceback" not in result.stderr
    if expected:
        assert f"flow 'exits' called sys.exit({code!r})" in result.stderr


@pytest.mark.parametrize(
    ("flow_name", "cleanup"), [("sleepy", "cleanup ran"), ("async_sleepy", "async cleanup ran")]
)
def test_sigterm_runs_the_flows_finally_and_exits_143(
    project: Path, flow_name: str, cleanup: str
) -> None:
    with _engine(job(f"flows/demo.py:{flow_name}", project), project) as process:
        assert process.stdout is not None
        first = process.stdout.readline()  # the flow is running once it has printed
        assert first == "started\n", process.communicate(timeout=TIMEOUT)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == ExitStatus.TERMINATED == 143, stderr
    assert stdout == f"{cleanup}\n"
    assert "stopped: received signal SIGTERM" in stderr
    assert "Traceback" not in stderr
