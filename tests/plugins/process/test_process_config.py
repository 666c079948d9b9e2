"""The process plugin's fields: working directory, interpreter choice, command,
preview and schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pydantic
import pytest
from _process_helpers import RecordingSink, WriteFlow, run_in_foreground, run_to_end

from shipway.infrastructure import (
    Infrastructure,
    InfrastructureError,
    InfrastructureNotAvailable,
    InfrastructureNotFound,
    Job,
)
from shipway_process import Process

WHERE = """
    import json, os, sys
    from shipway import flow

    @flow
    def where():
        print(json.dumps({"cwd": os.getcwd(), "executable": sys.executable,
                          "prefix": sys.prefix}))
"""


def _reported(sink: RecordingSink) -> dict[str, str]:
    data: dict[str, str] = json.loads(sink.text("stdout"))
    return data


# -- working directory ----------------------------------------------------------------


@pytest.mark.anyio
async def test_working_dir_defaults_to_the_jobs_project_directory(
    write_flow: WriteFlow, project: Path, sink: RecordingSink
) -> None:
    job = write_flow("where", WHERE)

    _, result = await run_to_end(Process(), job, sink)

    assert result.status_code == 0
    assert Path(_reported(sink)["cwd"]) == project.resolve()


@pytest.mark.anyio
async def test_explicit_working_dir_is_the_cwd_while_the_entrypoint_resolves_in_the_project(
    write_flow: WriteFlow, tmp_path: Path, sink: RecordingSink
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    job = write_flow("where", WHERE)  # flows/where.py exists only under the project

    _, result = await run_to_end(Process(working_dir=str(elsewhere)), job, sink)

    assert result.status_code == 0, sink.text("stderr")
    assert Path(_reported(sink)["cwd"]) == elsewhere.resolve()


@pytest.mark.anyio
async def test_relative_working_dir_is_relative_to_the_project(
    write_flow: WriteFlow, project: Path, sink: RecordingSink
) -> None:
    (project / "data").mkdir()
    job = write_flow("where", WHERE)

    _, result = await run_to_end(Process(working_dir="data"), job, sink)

    assert result.status_code == 0, sink.text("stderr")
    assert Path(_reported(sink)["cwd"]) == (project / "data").resolve()


@pytest.mark.anyio
async def test_missing_working_dir_is_an_infrastructure_error(
    write_flow: WriteFlow, tmp_path: Path, sink: RecordingSink
) -> None:
    job = write_flow("where", WHERE)
    missing = tmp_path / "does-not-exist"

    with pytest.raises(InfrastructureError) as caught:
        await run_in_foreground(Process(working_dir=str(missing)), job, sink)

    assert not isinstance(caught.value, (InfrastructureNotFound, InfrastructureNotAvailable))
    assert str(missing) in caught.value.message
    assert "working_dir" in str(caught.value)
    assert sink.lines == []


@pytest.mark.anyio
async def test_a_working_dir_that_is_a_file_says_so(
    write_flow: WriteFlow, tmp_path: Path, sink: RecordingSink
) -> None:
    job = write_flow("where", WHERE)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a directory")

    with pytest.raises(InfrastructureError) as caught:
        await run_in_foreground(Process(working_dir=str(a_file)), job, sink)

    assert caught.value.message == f"working directory {str(a_file)!r} is not a directory"


# -- interpreter choice -----------------------------------------------------------------


@pytest.mark.anyio
async def test_python_selects_the_interpreter(write_flow: WriteFlow, sink: RecordingSink) -> None:
    job = write_flow("where", WHERE)

    _, result = await run_to_end(Process(python=sys.executable), job, sink)

    assert result.status_code == 0
    assert _reported(sink)["executable"] == sys.executable


@pytest.mark.anyio
async def test_python_that_does_not_exist_is_an_infrastructure_error(
    write_flow: WriteFlow, tmp_path: Path, sink: RecordingSink
) -> None:
    job = write_flow("where", WHERE)
    missing = tmp_path / "no" / "python"

    with pytest.raises(InfrastructureError, match="not found"):
        await run_in_foreground(Process(python=str(missing)), job, sink)


@pytest.mark.anyio
@pytest.mark.parametrize("what", ["a directory", "a file that is not a program"])
async def test_python_that_is_not_an_interpreter_is_an_infrastructure_error(
    write_flow: WriteFlow, tmp_path: Path, sink: RecordingSink, what: str
) -> None:
    job = write_flow("where", WHERE)
    if what == "a directory":
        not_python = tmp_path / "bin"
        not_python.mkdir()
    else:
        not_python = tmp_path / "python"
        not_python.write_text("just text\n")
        not_python.chmod(0o755)

    with pytest.raises(InfrastructureError) as caught:
        await run_in_foreground(Process(python=str(not_python)), job, sink)

    assert caught.value.message.startswith(f"cannot start the flow run with {not_python}: ")
    assert caught.value.hint is not None and "'python'" in caught.value.hint
    assert sink.lines == []


@pytest.mark.anyio
async def test_virtualenv_runs_that_environments_interpreter(
    write_flow: WriteFlow, sink: RecordingSink
) -> None:
    if sys.prefix == sys.base_prefix:
        pytest.skip("the tests are not running from a virtual environment (e.g. .venv)")
    job = write_flow("where", WHERE)

    _, result = await run_to_end(Process(virtualenv=sys.prefix), job, sink)

    assert result.status_code == 0, sink.text("stderr")
    reported = _reported(sink)
    assert Path(reported["prefix"]).resolve() == Path(sys.prefix).resolve()
    assert Path(reported["executable"]).parent == Path(sys.prefix) / "bin"


@pytest.mark.anyio
async def test_virtualenv_without_an_interpreter_is_an_infrastructure_error(
    write_flow: WriteFlow, tmp_path: Path, sink: RecordingSink
) -> None:
    not_a_venv = tmp_path / "not-a-venv"
    (not_a_venv / "bin").mkdir(parents=True)
    job = write_flow("where", WHERE)

    with pytest.raises(InfrastructureError) as caught:
        await run_in_foreground(Process(virtualenv=str(not_a_venv)), job, sink)

    assert str(not_a_venv) in caught.value.message
    assert "bin/python" in caught.value.message


@pytest.mark.anyio
async def test_conda_env_without_conda_on_path_is_an_infrastructure_error(
    write_flow: WriteFlow,
    tmp_path: Path,
    sink: RecordingSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    job = write_flow("where", WHERE)

    with pytest.raises(InfrastructureError) as caught:
        await run_in_foreground(Process(conda_env="analytics"), job, sink)

    assert "conda" in caught.value.message
    assert sink.lines == []


@pytest.mark.anyio
async def test_python_without_shipway_is_an_infrastructure_error_naming_the_fix(
    write_flow: WriteFlow, sink: RecordingSink
) -> None:
    base_python = Path(sys.base_prefix) / "bin" / "python3"
    if sys.prefix == sys.base_prefix or not base_python.exists():
        pytest.skip("needs a virtual environment whose base interpreter lacks shipway")
    probe = subprocess.run([base_python, "-c", "import shipway"], capture_output=True)
    if probe.returncode == 0:
        pytest.skip(f"{base_python} can import shipway (installed outside the virtualenv)")
    job = write_flow("where", WHERE)

    with pytest.raises(InfrastructureError) as caught:
        await run_in_foreground(Process(python=str(base_python)), job, sink)

    assert "cannot import shipway" in caught.value.message
    assert "pip install shipway" in str(caught.value)
    assert sink.lines == []


@pytest.mark.parametrize(
    "fields",
    [
        {"python": "python3", "virtualenv": "/opt/venv"},
        {"python": "python3", "conda_env": "base"},
        {"virtualenv": "/opt/venv", "conda_env": "base"},
    ],
)
def test_interpreter_fields_are_mutually_exclusive(fields: dict[str, str]) -> None:
    with pytest.raises(pydantic.ValidationError, match="mutually exclusive"):
        Process.model_validate({"type": "process", **fields})


def test_command_with_an_interpreter_field_is_rejected() -> None:
    with pytest.raises(pydantic.ValidationError, match="command"):
        Process(command=["my-runner"], python="python3")


def test_conda_env_preview_uses_conda_run() -> None:
    by_name = Process(conda_env="analytics").preview()
    by_path = Process(conda_env="/opt/envs/analytics").preview()

    assert "conda run --no-capture-output -n analytics python -m shipway.engine" in by_name
    assert "conda run --no-capture-output -p /opt/envs/analytics python" in by_path


@pytest.mark.anyio
async def test_command_override_runs_that_command_with_the_job_handed_over(
    write_flow: WriteFlow, sink: RecordingSink
) -> None:
    job = write_flow("where", WHERE)
    script = "import json, os; print(json.loads(os.environ['SHIPWAY_FLOW_RUN'])['entrypoint'])"

    _, result = await run_to_end(Process(command=[sys.executable, "-c", script]), job, sink)

    assert result.status_code == 0
    assert sink.stream("stdout") == [b"flows/where.py:where\n"]


def test_unknown_field_is_rejected() -> None:
    with pytest.raises(pydantic.ValidationError, match="workdir"):
        Process.model_validate({"type": "process", "workdir": "/tmp"})


# -- preview ------------------------------------------------------------------------


def test_preview_shows_directory_environment_and_command_with_secrets_masked(
    project: Path,
) -> None:
    job = Job(entrypoint="flows/hello.py:hello", working_dir=str(project))
    process = Process(env={"GREETING": "hello there", "API_TOKEN": "s3cr3t-value", "DROP_ME": None})

    text = process.preview(job)

    assert f"cd {project}" in text
    assert "GREETING='hello there'" in text
    assert "API_TOKEN=" in text
    assert "s3cr3t-value" not in text
    assert "-u DROP_ME" in text
    assert f"{sys.executable} -m shipway.engine" in text
    assert "SHIPWAY_FLOW_RUN=" in text
    assert "flows/hello.py:hello" in text


def test_preview_without_a_job_shows_a_placeholder_job() -> None:
    text = Process().preview()

    assert "-m shipway.engine" in text
    assert "SHIPWAY_FLOW_RUN=" in text


def test_preview_of_a_command_override_and_working_dir(tmp_path: Path) -> None:
    text = Process(command=["my-runner", "--flag"], working_dir=str(tmp_path)).preview()

    assert f"cd {tmp_path}" in text
    assert text.rstrip().endswith("my-runner --flag")


# -- schema ---------------------------------------------------------------------------


def test_schema_has_the_documented_fields_and_rejects_others() -> None:
    schema = Process.model_json_schema()

    assert set(schema["properties"]) == {
        "type",
        "name",
        "env",
        "labels",
        "command",
        "stream_output",
        "working_dir",
        "python",
        "virtualenv",
        "conda_env",
    }
    assert schema["additionalProperties"] is False
    assert schema["properties"]["type"].get("const", "process") == "process"
    for field in ("stream_output", "working_dir", "python", "virtualenv", "conda_env"):
        assert schema["properties"][field].get("description"), field
    assert Process.type_name() == "process"
    assert issubclass(Process, Infrastructure)


def test_process_defaults() -> None:
    process = Process()

    assert process.type == "process"
    assert process.stream_output is True
    assert process.working_dir is None
    assert (process.python, process.virtualenv, process.conda_env) == (None, None, None)
    assert process.env == {}
