"""The JSON form of the store's calls (``shipway.store._wire``), shared by ``RemoteStore``
and the server: every value the interface declares comes back equal, secrets sealed."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from _store_helpers import spec
from shipway.schedules import CronSchedule, IntervalSchedule
from shipway.secrets import reveal
from shipway.states import StateType
from shipway.store import Retry, StateChange, Store
from shipway.store._interface import remote_methods
from shipway.store._transitions import UNCHANGED
from shipway.store._wire import argument_types, from_wire, result_type, to_wire

NOW = datetime(2026, 5, 1, 12, 30, tzinfo=timezone.utc)


def through_json(value: Any, hint: Any) -> Any:
    return from_wire(json.loads(json.dumps(to_wire(value))), hint)


def test_every_declared_type_can_be_read() -> None:
    for method in remote_methods():
        for hint in [*argument_types(method).values(), result_type(method)]:
            through_json(None, hint | None)  # builds the validator of each


@pytest.mark.parametrize(
    "change",
    [
        StateChange(StateType.RUNNING, identifier="host:1"),
        StateChange(StateType.FAILED, "boom", exit_code=1, retry=Retry(NOW, "retry")),
        StateChange(StateType.SCHEDULED, next_attempt=True, agent_id=None, scheduled_time=NOW),
    ],
)
def test_a_state_change_keeps_what_it_leaves_unchanged(change: StateChange) -> None:
    back = through_json(change, argument_types("set_state")["change"])
    assert back == change
    if change.agent_id is UNCHANGED:  # a default: not sent, so never read as a string
        assert back.agent_id is UNCHANGED
        assert "agent_id" not in to_wire(change)


@pytest.mark.parametrize(
    "schedule",
    [None, CronSchedule("0 * * * *", "Europe/Paris"), IntervalSchedule(timedelta(minutes=5), NOW)],
)
def test_records_come_back_equal_with_their_secrets_sealed(
    store: Store, schedule: CronSchedule | IntervalSchedule | None
) -> None:
    store.apply_deployment(spec("wired", schedule=schedule))
    deployment = store.get_deployment("wired")
    run = store.create_flow_run("wired", overrides={"env": {"API_TOKEN": "over-ride-1234"}})

    assert through_json(deployment, result_type("get_deployment")) == deployment
    back = through_json([run], result_type("claim_runs"))[0]
    assert back == run
    sealed = to_wire(run)["overrides"]["env"]["API_TOKEN"]
    assert set(sealed) == {"$sealed", "where"} and "over-ride-1234" not in json.dumps(sealed)
    assert reveal(back.overrides["env"]["API_TOKEN"]) == "over-ride-1234"
    assert through_json(store.state_history(run.id), result_type("state_history")) == (
        store.state_history(run.id)
    )


def test_collections_and_durations() -> None:
    states = through_json({StateType.CANCELLING}, argument_types("runs_of_agent")["states"])
    assert states == [StateType.CANCELLING]
    lease = through_json(timedelta(seconds=2.5), argument_types("renew_leases")["lease"])
    assert lease == timedelta(seconds=2.5)
    assert through_json(None, argument_types("claim_runs")["infrastructure_types"]) is None


def test_log_lines_keep_their_level_and_source(store: Store) -> None:
    from shipway.store import LogLine

    store.apply_deployment(spec("logged"))
    run = store.create_flow_run("logged")
    line = LogLine(NOW, "shipway", "hello", level=30, source="etl")
    assert through_json([line], argument_types("append_logs")["lines"]) == [line]
    store.append_logs(run.id, [line])
    stored = store.read_logs(run.id)
    assert through_json(stored, result_type("read_logs")) == stored
