"""The Job and its hand-over to the engine through SHIPWAY_FLOW_RUN."""

from __future__ import annotations

import datetime
import json
import uuid
from pathlib import Path

import pytest

from shipway.infrastructure import JOB_ENV_VAR, JOB_FILE_ENV_VAR, Job
from shipway.jobs import JobFormatError


def test_env_var_name_is_part_of_the_contract() -> None:
    assert JOB_ENV_VAR == "SHIPWAY_FLOW_RUN"


def test_round_trip_through_json() -> None:
    job = Job(
        entrypoint="flows/hello.py:hello_world",
        parameters={"name": "Ada", "numbers": [1, 2], "nested": {"a": None, "b": True}},
        flow_name="hello",
        deployment_name="example",
        working_dir="/srv/project",
    )
    again = Job.from_json(job.to_json())
    assert again == job
    assert again.parameters == {"name": "Ada", "numbers": [1, 2], "nested": {"a": None, "b": True}}


def test_to_json_is_a_compact_json_object() -> None:
    job = Job(entrypoint="pkg.mod:fn", flow_run_id="run-1")
    data = json.loads(job.to_json())
    assert data == {
        "deployment_name": None,
        "entrypoint": "pkg.mod:fn",
        "flow_name": "fn",
        "flow_run_id": "run-1",
        "parameters": {},
        "working_dir": None,
    }
    assert " " not in job.to_json()


def test_defaults_flow_run_id_and_flow_name() -> None:
    first = Job(entrypoint="flows/hello.py:hello_world")
    second = Job(entrypoint="flows/hello.py:hello_world")
    assert first.flow_name == "hello_world"
    assert uuid.UUID(first.flow_run_id)
    assert first.flow_run_id != second.flow_run_id


def test_parameters_are_copied() -> None:
    parameters = {"a": 1}
    job = Job(entrypoint="m:f", parameters=parameters)
    parameters["a"] = 2
    assert job.parameters == {"a": 1}


def test_unknown_keys_are_ignored_for_forward_compatibility() -> None:
    text = json.dumps(
        {
            "entrypoint": "flows/hello.py:hello_world",
            "flow_run_id": "abc",
            "parameters": {"name": "x"},
            "priority": 7,
            "retries": {"max": 3},
        }
    )
    job = Job.from_json(text)
    assert job.flow_run_id == "abc"
    assert job.parameters == {"name": "x"}
    assert not hasattr(job, "priority")


@pytest.mark.parametrize(
    ("value", "type_name"),
    [(datetime.date(2024, 1, 1), "date"), ({1, 2}, "set"), (object(), "object")],
)
def test_non_json_parameters_are_rejected_clearly(value: object, type_name: str) -> None:
    with pytest.raises(JobFormatError) as caught:
        Job(entrypoint="m:f", parameters={"when": value})
    message = str(caught.value)
    assert "parameter 'when' cannot be handed to the flow run" in message
    assert type_name in message
    assert "Parameters must be JSON values" in message


def test_replace_returns_a_changed_copy() -> None:
    job = Job(entrypoint="m:f", working_dir="/here")
    moved = job.replace(working_dir="/opt/flows")
    assert moved.working_dir == "/opt/flows"
    assert moved.flow_run_id == job.flow_run_id
    assert job.working_dir == "/here"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"parameters": {}}', "has no 'entrypoint'"),
        ('{"entrypoint": "m:f", "parameters": [1]}', "'parameters' must be a JSON object"),
        ('{"entrypoint": 5}', "'entrypoint' must be a string, not 5"),
        ('{"entrypoint": ""}', "'entrypoint' is empty"),
        ('{"entrypoint": "m:f", "working_dir": ["/"]}', "'working_dir' must be a string"),
        ('{"entrypoint": "m:f", "flow_run_id": null}', "'flow_run_id' must be a string"),
    ],
)
def test_malformed_hand_over(text: str, expected: str) -> None:
    with pytest.raises(JobFormatError, match=expected) as caught:
        Job.from_json(text)
    assert JOB_ENV_VAR in str(caught.value)


def test_from_environment_reads_the_variable() -> None:
    job = Job(entrypoint="flows/a.py:f", parameters={"n": 1})
    assert Job.from_environment({JOB_ENV_VAR: job.to_json()}) == job


@pytest.mark.parametrize("environ", [{}, {JOB_ENV_VAR: ""}])
def test_missing_hand_over_explains_how_flows_are_run(environ: dict[str, str]) -> None:
    with pytest.raises(JobFormatError) as caught:
        Job.from_environment(environ)
    message = str(caught.value)
    assert "SHIPWAY_FLOW_RUN is not set" in message
    assert "shipway run" in message


def test_from_environment_reads_the_file_the_other_variable_names(tmp_path: Path) -> None:
    job = Job(entrypoint="flows/a.py:f", parameters={"n": 1})
    path = tmp_path / "job.json"
    path.write_text(job.to_json(), encoding="utf-8")

    assert Job.from_environment({JOB_FILE_ENV_VAR: str(path)}) == job
    assert Job.from_environment({JOB_ENV_VAR: "", JOB_FILE_ENV_VAR: str(path)}) == job


def test_a_malformed_job_file_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "job.json"
    path.write_text('{"parameters": {}}', encoding="utf-8")

    with pytest.raises(JobFormatError, match=f"the job file {path} has no 'entrypoint'"):
        Job.from_environment({JOB_FILE_ENV_VAR: str(path)})


def test_from_environment_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    job = Job(entrypoint="flows/a.py:f")
    monkeypatch.setenv(JOB_ENV_VAR, job.to_json())
    assert Job.from_environment() == job
    monkeypatch.delenv(JOB_ENV_VAR)
    with pytest.raises(JobFormatError):
        Job.from_environment()
