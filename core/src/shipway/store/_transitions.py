"""State changes of one flow run: what a change is (:class:`StateChange`), and the one
function that applies it to a locked run and writes its history line (:func:`move`).
``set_state`` and ``request_cancellation`` both go through it."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Collection
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa

from shipway.states import StateType
from shipway.store import _tables as t
from shipway.store._database import Database, utc_now
from shipway.store._errors import StateConflict
from shipway.store._flow_runs import find_run
from shipway.store._records import FlowRunRecord
from shipway.store._rows import add_history, run_from_row
from shipway.store._wakeups import Wakeup

__all__ = ["UNCHANGED", "Retry", "StateChange", "Transitions", "Unchanged", "move"]


class Unchanged(enum.Enum):
    """What a field of a change holds to leave the run's value as it is (None clears it)."""

    UNCHANGED = "unchanged"


UNCHANGED: Final = Unchanged.UNCHANGED


@dataclasses.dataclass(frozen=True)
class Retry:
    """The next attempt of a Failed or Crashed run: Scheduled at ``at``, without an owner."""

    at: datetime
    message: str = ""


@dataclasses.dataclass(frozen=True)
class StateChange:
    """One move of a flow run, and what comes with it.

    ``identifier`` and ``exit_code``: what the infrastructure reported (None: unchanged).
    ``scheduled_time`` (with Scheduled): when the run is due again. ``next_attempt``: a new
    attempt, whose identifier, exit code, start and end time start empty (the history keeps
    the previous ones). ``agent_id``: the run's new owner, None for none (default: unchanged).
    ``retry`` (with Failed or Crashed): schedule the next attempt in the same write.
    """

    state: StateType
    message: str = ""
    identifier: str | None = None
    exit_code: int | None = None
    scheduled_time: datetime | None = None
    next_attempt: bool = False
    agent_id: str | Unchanged | None = UNCHANGED
    retry: Retry | None = None

    def __post_init__(self) -> None:
        if self.retry is not None and self.state not in (StateType.FAILED, StateType.CRASHED):
            raise ValueError(
                f"only a Failed or Crashed run is retried, not a {self.state.value} one"
            )


@dataclasses.dataclass(frozen=True)
class Transitions:
    db: Database

    def set_state(
        self,
        run_id: str,
        change: StateChange,
        *,
        expected: Collection[StateType] | None,
        owner: str | None,
    ) -> FlowRunRecord:
        at = utc_now()
        with self.db.transaction() as connection:
            row = find_run(self.db, connection, run_id, lock=True)
            current = StateType(row.state)
            if expected is not None and current not in expected:
                wanted = ", ".join(s.value for s in expected) or "nothing"
                raise StateConflict(
                    f"flow run {row.id} is {current.value}, not {wanted}: "
                    f"cannot set it to {change.state.value}"
                )
            if owner is not None and row.agent_id != owner:
                raise StateConflict(
                    f"flow run {row.id} is held by agent {row.agent_id}, not {owner}: "
                    f"cannot set it to {change.state.value}"
                )
            row = move(connection, row, change, at)
            if change.retry is not None and current is not StateType.CANCELLING:
                retry = StateChange(
                    StateType.SCHEDULED,
                    change.retry.message,
                    scheduled_time=change.retry.at,
                    next_attempt=True,
                    agent_id=None,
                )
                row = move(connection, row, retry, at)
        return run_from_row(row)

    def request_cancellation(self, run_id: str) -> FlowRunRecord:
        at = utc_now()
        with self.db.transaction() as connection:
            row = find_run(self.db, connection, run_id, lock=True)
            current = StateType(row.state)
            if current.is_final:
                raise StateConflict(f"flow run {row.id} is already {current.value}")
            if current is not StateType.CANCELLING:  # asking twice changes nothing
                change = (
                    StateChange(StateType.CANCELLED, "cancelled before it started")
                    if current is StateType.SCHEDULED
                    else StateChange(StateType.CANCELLING, "cancellation requested")
                )
                row = move(connection, row, change, at)
                if change.state is StateType.CANCELLING:  # its agent has to stop it
                    self.db.notify(connection, Wakeup.CANCELLATION)
        return run_from_row(row)


def move(connection: sa.Connection, row: Any, change: StateChange, at: datetime) -> Any:
    """Apply ``change`` to the locked run ``row`` and add it to the run's history; returns
    the row as it is now."""
    state = change.state
    values: dict[str, Any] = {"state": state.value, "state_message": change.message, "updated": at}
    attempt = row.attempt + 1 if change.next_attempt else row.attempt
    identifier = row.identifier
    if change.next_attempt:
        values.update(
            attempt=attempt, identifier=None, exit_code=None, start_time=None, end_time=None
        )
        identifier = None
    if change.identifier is not None:
        values["identifier"] = identifier = change.identifier
    if change.exit_code is not None:
        values["exit_code"] = change.exit_code
    if state is StateType.SCHEDULED and change.scheduled_time is not None:
        values["scheduled_time"] = change.scheduled_time
    if state is StateType.RUNNING and (row.start_time is None or change.next_attempt):
        values["start_time"] = at
    if state.is_final:
        values["end_time"] = at
    agent_id = row.agent_id
    if change.agent_id is not UNCHANGED:
        values["agent_id"] = agent_id = change.agent_id
    updated = connection.execute(
        t.flow_runs.update()
        .where(t.flow_runs.c.id == row.id)
        .values(values)
        .returning(*t.flow_runs.c)
    ).one()
    add_history(
        connection, row.id, state, change.message, at,
        attempt=attempt, agent_id=agent_id, identifier=identifier,
    )  # fmt: skip
    return updated
