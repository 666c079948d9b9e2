"""The helpers the base class gives every plugin: the command, the environment with the
job hand-over, and the labels of a run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar, Literal

import anyio
import pytest
from anyio.abc import TaskStatus

from shipway.infrastructure import (
    EXIT_STATUS_FILE_VAR,
    JOB_ENV_MAX_BYTES,
    JOB_ENV_VAR,
    JOB_FILE_ENV_VAR,
    Infrastructure,
    InfrastructureResult,
    Job,
    LineSplitter,
    output_sink,
    run_labels,
)
from shipway.testing import RecordingSink

JOB = Job(entrypoint="flows/hello.py:hello", flow_run_id="run-1", deployment_name="nightly")


class Helpers(Infrastructure):
    """Only the helpers are exercised here; running is the conformance suite's business."""

    type: Literal["test-helpers"] = "test-helpers"

    async def run(
        self, job: Job, task_status: TaskStatus[str] = anyio.TASK_STATUS_IGNORED
    ) -> InfrastructureResult:
        raise NotImplementedError

    async def kill(self, identifier: str, grace_seconds: int = 30) -> None:
        raise NotImplementedError

    def preview(self, job: Job | None = None) -> str:
        return " ".join(self.job_command())


@pytest.mark.parametrize(
    ("interpreter", "expected"),
    [
        ("python3.12", ["python3.12", "-m", "shipway.engine"]),
        (("/venv/bin/python",), ["/venv/bin/python", "-m", "shipway.engine"]),
        (
            ["conda", "run", "-n", "etl", "python"],
            ["conda", "run", "-n", "etl", "python", "-m", "shipway.engine"],
        ),
    ],
)
def test_job_command_takes_an_interpreter_or_a_command_line_ending_in_one(
    interpreter: str | list[str] | tuple[str, ...], expected: list[str]
) -> None:
    assert Helpers().job_command(interpreter) == expected


def test_the_command_field_replaces_the_whole_command() -> None:
    assert Helpers(command=["run-it"]).job_command(["conda", "run", "python"]) == ["run-it"]


@pytest.mark.parametrize("users_value", ["not the job", None])
def test_the_job_handover_wins_over_an_env_entry_of_the_same_name(
    users_value: str | None,
) -> None:
    infrastructure = Helpers(
        env={JOB_ENV_VAR: users_value, "PYTHONUNBUFFERED": "0", "REGION": "eu", "GONE": None}
    )

    env = infrastructure.job_environment(JOB)

    assert env[JOB_ENV_VAR] == JOB.to_json()
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["REGION"] == "eu"
    assert "GONE" in env and env["GONE"] is None  # "unset it" is passed on


def test_a_small_job_is_handed_over_in_the_environment() -> None:
    assert Helpers().job_file_content(JOB) is None
    assert JOB_FILE_ENV_VAR not in Helpers().job_environment(JOB)


def test_a_large_job_is_handed_over_in_a_file_the_environment_names() -> None:
    large = JOB.replace(parameters={"blob": "x" * JOB_ENV_MAX_BYTES})
    infrastructure = Helpers(env={JOB_FILE_ENV_VAR: "/not/the/job", "REGION": "eu"})

    content = infrastructure.job_file_content(large)
    env = infrastructure.job_environment(large, job_file="/run/job.json")

    assert content is not None and Job.from_json(content.decode()) == large
    assert env[JOB_FILE_ENV_VAR] == "/run/job.json"  # the hand-over wins here too
    assert JOB_ENV_VAR in env and env[JOB_ENV_VAR] is None  # an inherited one is unset
    assert env["REGION"] == "eu"
    assert env["PYTHONUNBUFFERED"] == "1"


def test_the_threshold_is_the_size_of_the_job_as_json() -> None:
    fits = JOB.replace(parameters={"blob": ""})
    room = JOB_ENV_MAX_BYTES - len(fits.to_json().encode())
    assert Helpers().job_file_content(JOB.replace(parameters={"blob": "x" * room})) is None
    assert Helpers().job_file_content(JOB.replace(parameters={"blob": "x" * (room + 1)}))


def test_run_labels_name_the_flow_run_the_flow_and_the_deployment() -> None:
    assert run_labels(JOB, "io.shipway.") == {
        "io.shipway.flow-run-id": "run-1",
        "io.shipway.flow": "hello",
        "io.shipway.deployment": "nightly",
    }
    assert run_labels(JOB.replace(deployment_name=None), "shipway.io/") == {
        "shipway.io/flow-run-id": "run-1",
        "shipway.io/flow": "hello",
    }


def test_the_exit_status_file_variable_is_the_one_the_engine_reads() -> None:
    import shipway.engine

    assert EXIT_STATUS_FILE_VAR == shipway.engine.EXIT_STATUS_FILE_VAR == "SHIPWAY_EXIT_STATUS_FILE"


# -- descriptions of inherited fields ------------------------------------------------------


class Described(Helpers):
    type: Literal["test-described"] = "test-described"
    field_descriptions: ClassVar[Mapping[str, str]] = {"name": "The sandbox's name."}


def test_a_plugin_describes_inherited_fields_for_its_platform() -> None:
    schema = Described.model_json_schema()["properties"]

    assert schema["name"]["description"] == "The sandbox's name."
    assert Described.model_fields["name"].description == "The sandbox's name."
    assert schema["labels"]["description"] == Infrastructure.model_fields["labels"].description


def test_describing_a_field_changes_neither_the_base_nor_a_sibling() -> None:
    base = Infrastructure.model_fields["name"].description

    assert base and "sandbox" not in base
    assert Helpers.model_json_schema()["properties"]["name"]["description"] == base
    assert Described(name="x").name == "x"  # the field itself is unchanged


def test_a_description_for_a_field_the_class_lacks_is_refused() -> None:
    with pytest.raises(TypeError, match="field_descriptions names fields it does not have: nmae"):

        class Misspelled(Helpers):
            type: Literal["test-misspelled"] = "test-misspelled"
            field_descriptions: ClassVar[Mapping[str, str]] = {"nmae": "typo"}


# -- forwarding output ----------------------------------------------------------------------


async def _chunks(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def _forwarded(**kwargs: Any) -> list[tuple[str, bytes]]:
    sink = RecordingSink()

    async def forward() -> None:
        with output_sink(sink):
            await Helpers().forward_output(**kwargs)

    anyio.run(forward)
    return sink.lines


def test_forward_output_passes_lines_on_as_they_arrive() -> None:
    lines = _forwarded(source=_chunks(b"one\ntw", b"o\nthree"), stream="stderr")

    assert lines == [("stderr", b"one\n"), ("stderr", b"two\n"), ("stderr", b"three")]


def test_forward_output_keeps_control_lines_from_the_output() -> None:
    seen: list[bytes] = []

    def is_control(line: bytes) -> bool:
        if line.startswith(b"@exit "):
            seen.append(line)
            return True
        return False

    lines = _forwarded(source=_chunks(b"hi\n@exit 3\nbye"), stream="stdout", is_control=is_control)

    assert lines == [("stdout", b"hi\n"), ("stdout", b"bye")]
    assert seen == [b"@exit 3\n"]


def test_the_old_keywords_of_forward_output_still_work_with_a_warning() -> None:
    with pytest.deprecated_call(match="forward_output\\(source, stream\\)"):
        lines = _forwarded(stream=_chunks(b"old\n"), name="stdout")

    assert lines == [("stdout", b"old\n")]


def test_forward_output_refuses_a_stream_that_is_not_stdout_or_stderr() -> None:
    with pytest.raises(TypeError, match="must be 'stdout' or 'stderr'"):
        _forwarded(source=_chunks(b"x\n"), stream="stdin")


def test_line_splitter_flush_returns_the_unfinished_line_as_a_list() -> None:
    splitter = LineSplitter()

    assert splitter.feed(b"a\nb") == [b"a\n"]
    assert splitter.flush() == [b"b"]
    assert splitter.flush() == []
