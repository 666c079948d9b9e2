"""InfrastructureResult and how exit statuses are explained."""

from __future__ import annotations

import dataclasses

import pytest

from shipway.exit_status import ExitStatus
from shipway.infrastructure import InfrastructureResult, describe_exit_code


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (0, "completed"),
        (1, "the flow raised an exception (its traceback is above)"),
        (3, "the flow run could not start (the reason is above)"),
        (-9, "killed by SIGKILL (exit -9): stopped by force, often for running out of memory"),
        (137, "killed by SIGKILL (exit 137): stopped by force, often for running out of memory"),
        (-15, "terminated by SIGTERM (exit -15): stopped on request"),
        (143, "terminated by SIGTERM (exit 143): stopped on request"),
        (-2, "killed by SIGINT (exit -2)"),
        (130, "killed by SIGINT (exit 130)"),
        (2, "exited with status 2"),
        (42, "exited with status 42"),
        (128, "exited with status 128"),
        (255, "exited with status 255"),
    ],
)
def test_describe_exit_code(code: int, expected: str) -> None:
    assert describe_exit_code(code) == expected


def test_unknown_signal_number() -> None:
    assert describe_exit_code(-99) == "killed by signal 99 (exit -99)"


def test_engine_codes_are_explained_as_the_engine_means_them() -> None:
    assert describe_exit_code(ExitStatus.COMPLETED) == "completed"
    assert "raised" in describe_exit_code(ExitStatus.FAILED)
    assert "could not start" in describe_exit_code(ExitStatus.CANNOT_START)
    assert "SIGTERM" in describe_exit_code(ExitStatus.TERMINATED)


def test_success() -> None:
    result = InfrastructureResult(identifier="host:12", status_code=0)
    assert result.succeeded
    assert bool(result) is True
    assert result.reason is None
    assert result.describe() == "completed"


@pytest.mark.parametrize("code", [1, 3, 137, -9, 143])
def test_failure(code: int) -> None:
    result = InfrastructureResult("host:12", code)
    assert not result.succeeded
    assert not result
    assert result.describe() == describe_exit_code(code)


def test_reason_from_the_infrastructure_is_appended() -> None:
    result = InfrastructureResult("cluster:ns:job", 137, reason="OOMKilled")
    assert result.describe() == (
        "killed by SIGKILL (exit 137): stopped by force, often for running out of memory; OOMKilled"
    )


def test_result_is_an_immutable_value() -> None:
    result = InfrastructureResult("host:1", 0)
    assert result == InfrastructureResult("host:1", 0)
    assert result != InfrastructureResult("host:2", 0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.status_code = 1  # type: ignore[misc]


@pytest.mark.parametrize("code", [-9, 137])
def test_a_forced_stop_the_user_asked_for_is_not_blamed_on_memory(code: int) -> None:
    text = describe_exit_code(code, stopped_on_request=True)

    assert text.startswith(f"killed by SIGKILL (exit {code}): stopped by force, as asked")
    assert "memory" not in text


def test_a_cancelled_run_killed_by_force_is_reported_as_asked() -> None:
    from shipway.attempt import state_for_result
    from shipway.states import StateType

    state = state_for_result(InfrastructureResult("host:1", -9), cancelled=True)

    assert state.type is StateType.CANCELLED
    assert "as asked" in state.message and "memory" not in state.message
    assert "memory" in state_for_result(InfrastructureResult("host:1", -9)).message
