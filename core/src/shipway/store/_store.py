"""The Store: every read and write of deployments, flow runs, logs, agents and queues.

Each method is one short transaction, safe to call from several threads and processes.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from itertools import islice
from typing import Any, Literal

import sqlalchemy as sa

from shipway.schedules import schedule_times
from shipway.states import StateType
from shipway.store import _tables as t
from shipway.store._engine import WRITE, create_engine
from shipway.store._errors import (
    DeploymentNotFound,
    FlowRunNotFound,
    StateConflict,
    StoreError,
    StoreRefused,
    StoreUnavailable,
)
from shipway.store._migrate import migrate, sqlite_file
from shipway.store._records import (
    AgentRecord,
    DeploymentRecord,
    DeploymentSpec,
    FlowRunRecord,
    LogLine,
    StateRecord,
    StoredLogLine,
    WorkQueueRecord,
)
from shipway.store._schedules import schedule_from_json, schedule_to_json
from shipway.store._url import DATABASE_URL_VAR, HOME_VAR, database_url, mask_url

__all__ = ["ACTIVE_STATES", "SCHEDULE_SLACK", "Store", "open_store"]

# States in which a run holds a slot on its agent and its work queue.
ACTIVE_STATES = (StateType.PENDING, StateType.RUNNING, StateType.CANCELLING)
# How late a scheduled time may be and still get its run created (agents were down:
# missed runs are skipped rather than started in a burst).
SCHEDULE_SLACK = timedelta(minutes=5)
# Most runs one schedule creates in one call (a short interval with a long horizon).
MAX_RUNS_PER_SCHEDULE = 100
MIN_PREFIX = 4


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def open_store(url: str | None = None) -> Store:
    """Open (and create and migrate, the first time) the store at ``url``.

    Default: ``$SHIPWAY_DATABASE_URL``, else ``sqlite:///$SHIPWAY_HOME/shipway.db``.
    """
    return Store(database_url(url))


class Store:
    """The run history database (SQLite or PostgreSQL)."""

    def __init__(self, url: str) -> None:
        try:
            parsed = sa.make_url(url)
        except sa.exc.ArgumentError:
            raise StoreError(
                f"{mask_url(url)!r} is not a database URL",
                hint="Use e.g. postgresql://user:password@host/db or sqlite:////path/shipway.db "
                "(in SHIPWAY_DATABASE_URL).",
            ) from None
        backend = parsed.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise StoreError(
                f"unsupported database {backend!r} in {mask_url(url)}",
                hint="shipway stores runs in SQLite (the default) or PostgreSQL.",
            )
        self.url = mask_url(url)
        self.backend: str = backend
        try:
            sqlite_path = sqlite_file(parsed) if backend == "sqlite" else None
        except OSError as exc:
            raise StoreError(
                f"cannot create the folder {exc.filename or ''} of the store {self.url}: "
                f"{exc.strerror or exc}",
                hint=f"Point {HOME_VAR} at a writable folder, or {DATABASE_URL_VAR} at "
                "another database.",
            ) from None
        try:
            self._engine = create_engine(url, sqlite_path)
        except ModuleNotFoundError as exc:
            raise StoreError(
                f"the PostgreSQL driver is not installed ({exc.name})",
                hint="Install it with: pip install 'shipway[postgres]'",
            ) from None
        with self._unavailable_as_error():
            migrate(self._engine, sqlite_path)

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    # -- plumbing -------------------------------------------------------------------

    @contextlib.contextmanager
    def _unavailable_as_error(self) -> Iterator[None]:
        try:
            yield
        except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError) as exc:
            if _refused_for_good(exc):  # waiting will not help: say what to fix
                raise StoreRefused(
                    f"the store at {self.url} refused the connection: {_first_line(exc)}",
                    hint=f"Check the user, password and database name in {DATABASE_URL_VAR}; "
                    "the database must exist (createdb), its tables are created on first use.",
                ) from exc
            raise StoreUnavailable(
                f"the store at {self.url} cannot be reached: {_first_line(exc)}",
                hint="Check that the database is running and reachable, then try again.",
            ) from exc
        except sa.exc.DBAPIError as exc:
            if exc.connection_invalidated:
                raise StoreUnavailable(
                    f"the connection to the store at {self.url} was lost: {_first_line(exc)}"
                ) from exc
            raise

    @contextlib.contextmanager
    def _transaction(self, *, write: bool = True) -> Iterator[sa.Connection]:
        with self._unavailable_as_error(), self._engine.connect() as connection:
            if write:
                connection.execution_options(**{WRITE: True})
            with connection.begin():
                yield connection

    def _for_update(self, query: sa.Select[Any], *, skip_locked: bool = False) -> sa.Select[Any]:
        """Row locks on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers."""
        if self.backend == "postgresql":
            return query.with_for_update(skip_locked=skip_locked)
        return query

    def _insert(self, table: sa.Table) -> Any:
        if self.backend == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table)
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)

    def _ensure_work_queues(self, connection: sa.Connection, names: Collection[str]) -> None:
        if not names:
            return
        now = _now()
        connection.execute(
            self._insert(t.work_queues)
            .values([{"name": n, "concurrency_limit": None, "created": now} for n in names])
            .on_conflict_do_nothing(index_elements=["name"])
        )

    # -- deployments ----------------------------------------------------------------

    def apply_deployment(self, spec: DeploymentSpec) -> tuple[DeploymentRecord, str]:
        """Create or update the deployment named ``spec.name``: "created", "updated" or
        "unchanged". A changed schedule drops the runs the old one had planned."""
        try:
            return self._apply_deployment(spec)
        except sa.exc.IntegrityError:
            # Another process created it between our look and our insert: now it exists.
            return self._apply_deployment(spec)

    def _apply_deployment(self, spec: DeploymentSpec) -> tuple[DeploymentRecord, str]:
        values = _deployment_values(spec)
        now = _now()
        with self._transaction() as connection:
            row = connection.execute(
                self._for_update(sa.select(t.deployments).where(t.deployments.c.name == spec.name))
            ).first()
            if row is None:
                deployment_id = str(uuid.uuid4())
                connection.execute(
                    t.deployments.insert().values(
                        id=deployment_id, created=now, updated=now, **values
                    )
                )
                outcome = "created"
            else:
                deployment_id = row.id
                current = {key: getattr(row, key) for key in values}
                if current == values:
                    outcome = "unchanged"
                else:
                    connection.execute(
                        t.deployments.update()
                        .where(t.deployments.c.id == deployment_id)
                        .values(updated=now, **values)
                    )
                    outcome = "updated"
                    if current["schedule"] != values["schedule"]:
                        connection.execute(
                            t.flow_runs.delete().where(
                                t.flow_runs.c.deployment_id == deployment_id,
                                t.flow_runs.c.schedule_key.is_not(None),
                                t.flow_runs.c.state == StateType.SCHEDULED.value,
                                t.flow_runs.c.attempt == 1,
                            )
                        )
            self._ensure_work_queues(connection, [spec.work_queue])
            stored = connection.execute(
                sa.select(t.deployments).where(t.deployments.c.id == deployment_id)
            ).one()
        return _deployment_from_row(stored), outcome

    def get_deployment(self, name: str) -> DeploymentRecord:
        with self._transaction(write=False) as connection:
            row = connection.execute(
                sa.select(t.deployments).where(t.deployments.c.name == name)
            ).first()
            if row is None:
                known = connection.execute(
                    sa.select(t.deployments.c.name).order_by(t.deployments.c.name)
                ).scalars()
                names = ", ".join(known) or "none"
                raise DeploymentNotFound(
                    f"no deployment named {name!r} in the store ({self.url}). "
                    f"Known deployments: {names}.",
                    hint="Register it with `shipway deployment apply`.",
                )
        return _deployment_from_row(row)

    def list_deployments(self) -> list[DeploymentRecord]:
        with self._transaction(write=False) as connection:
            rows = connection.execute(sa.select(t.deployments).order_by(t.deployments.c.name))
            return [_deployment_from_row(row) for row in rows]

    # -- flow runs ------------------------------------------------------------------

    def create_flow_run(
        self,
        deployment: str,
        *,
        parameters: Mapping[str, Any] | None = None,
        overrides: Mapping[str, Any] | None = None,
        scheduled_time: datetime | None = None,
    ) -> FlowRunRecord:
        """A new Scheduled run of ``deployment`` (due now unless ``scheduled_time``)."""
        record = self.get_deployment(deployment)
        now = _now()
        values = _new_run_values(record, now, scheduled_time or now)
        values["parameters"] = _dumps({**record.parameters, **(parameters or {})})
        values["overrides"] = _dumps(dict(overrides or {}))
        with self._transaction() as connection:
            connection.execute(t.flow_runs.insert().values(**values))
            _add_history(connection, values["id"], StateType.SCHEDULED, "", now, 1, None, None)
            row = connection.execute(_run_query(values["id"])).one()
        return _run_from_row(row)

    def get_flow_run(self, run_id: str) -> FlowRunRecord:
        """The run with that id, or the only one whose id starts with it (>= 4 chars)."""
        with self._transaction(write=False) as connection:
            return _run_from_row(self._find_run(connection, run_id))

    def _find_run(self, connection: sa.Connection, run_id: str, *, lock: bool = False) -> Any:
        run_id = run_id.strip().lower()
        if len(run_id) < MIN_PREFIX:
            raise FlowRunNotFound(
                f"flow run id {run_id!r} is too short: give at least {MIN_PREFIX} characters"
            )
        query = _run_query(run_id)
        if lock:
            query = self._for_update(query)
        row = connection.execute(query).first()
        if row is not None:
            return row
        matches = (
            connection.execute(
                sa.select(t.flow_runs.c.id).where(t.flow_runs.c.id.startswith(run_id)).limit(3)
            )
            .scalars()
            .all()
        )
        if not matches:
            raise FlowRunNotFound(
                f"no flow run with id {run_id!r}",
                hint="`shipway flow-run ls` lists the recent ones.",
            )
        if len(matches) > 1:
            raise FlowRunNotFound(
                f"{run_id!r} matches several flow runs ({', '.join(matches)}, ...); "
                "give more characters"
            )
        query = _run_query(matches[0])
        return connection.execute(self._for_update(query) if lock else query).one()

    def list_flow_runs(
        self,
        *,
        deployment: str | None = None,
        states: Collection[StateType] | None = None,
        limit: int = 50,
    ) -> list[FlowRunRecord]:
        """Newest first."""
        query = sa.select(t.flow_runs)
        if deployment is not None:
            query = query.where(t.flow_runs.c.deployment_name == deployment)
        if states:
            query = query.where(t.flow_runs.c.state.in_([s.value for s in states]))
        query = query.order_by(t.flow_runs.c.created.desc(), t.flow_runs.c.id).limit(limit)
        with self._transaction(write=False) as connection:
            return [_run_from_row(row) for row in connection.execute(query)]

    def state_history(self, run_id: str) -> list[StateRecord]:
        """Every state the run went through, oldest first."""
        with self._transaction(write=False) as connection:
            full_id = self._find_run(connection, run_id).id
            rows = connection.execute(
                sa.select(t.flow_run_states)
                .where(t.flow_run_states.c.flow_run_id == full_id)
                .order_by(t.flow_run_states.c.id)
            )
            return [
                StateRecord(
                    type=StateType(row.type),
                    message=row.message,
                    timestamp=row.timestamp,
                    attempt=row.attempt,
                    agent_id=row.agent_id,
                    identifier=row.identifier,
                )
                for row in rows
            ]

    def set_state(
        self,
        run_id: str,
        state: StateType,
        message: str = "",
        *,
        expected: Collection[StateType] | None = None,
        identifier: str | None = None,
        exit_code: int | None = None,
        scheduled_time: datetime | None = None,
        next_attempt: bool = False,
        agent_id: str | Literal["keep"] | None = "keep",
        retry_at: datetime | None = None,
        retry_message: str = "",
    ) -> FlowRunRecord:
        """Move the run to ``state`` and record it in the history.

        ``expected``: the states the caller believes the run is in; StateConflict otherwise
        (compare-and-set, so an agent never overwrites a cancellation it has not seen).
        ``retry_at`` (with Failed or Crashed): in the same transaction, schedule the next
        attempt at that time, without an owner, so that nobody watching the run ever
        sees it final while a retry is coming; not when its cancellation was asked for
        (it was Cancelling): the returned record says which.
        """
        if retry_at is not None and state not in (StateType.FAILED, StateType.CRASHED):
            raise ValueError(f"only a Failed or Crashed run is retried, not a {state.value} one")
        now = _now()
        with self._transaction() as connection:
            row = self._find_run(connection, run_id, lock=True)
            current = StateType(row.state)
            if expected is not None and current not in expected:
                wanted = ", ".join(s.value for s in expected) or "nothing"
                raise StateConflict(
                    f"flow run {row.id} is {current.value}, not {wanted}: "
                    f"cannot set it to {state.value}"
                )
            row = self._move(
                connection, row, state, message, now,
                identifier=identifier, exit_code=exit_code, scheduled_time=scheduled_time,
                next_attempt=next_attempt, agent_id=agent_id,
            )  # fmt: skip
            if retry_at is not None and current is not StateType.CANCELLING:
                row = self._move(
                    connection, row, StateType.SCHEDULED, retry_message, now,
                    scheduled_time=retry_at, next_attempt=True, agent_id=None,
                )  # fmt: skip
        return _run_from_row(row)

    def _move(
        self,
        connection: sa.Connection,
        row: Any,
        state: StateType,
        message: str,
        now: datetime,
        *,
        identifier: str | None = None,
        exit_code: int | None = None,
        scheduled_time: datetime | None = None,
        next_attempt: bool = False,
        agent_id: str | Literal["keep"] | None = "keep",
    ) -> Any:
        """One state change of a locked run: its row (returned as it is now), and a line
        of its history."""
        values: dict[str, Any] = {
            "state": state.value,
            "state_message": message,
            "updated": now,
        }
        attempt = row.attempt + 1 if next_attempt else row.attempt
        new_identifier = row.identifier
        if next_attempt:
            values.update(
                attempt=attempt, identifier=None, exit_code=None, start_time=None, end_time=None
            )
            new_identifier = None
        if identifier is not None:
            values["identifier"] = new_identifier = identifier
        if exit_code is not None:
            values["exit_code"] = exit_code
        if state is StateType.SCHEDULED and scheduled_time is not None:
            values["scheduled_time"] = scheduled_time
        if state is StateType.RUNNING and (row.start_time is None or next_attempt):
            values["start_time"] = now
        if state.is_final:
            values["end_time"] = now
        new_agent = row.agent_id
        if agent_id != "keep":
            values["agent_id"] = new_agent = agent_id
        updated = connection.execute(
            t.flow_runs.update()
            .where(t.flow_runs.c.id == row.id)
            .values(values)
            .returning(*t.flow_runs.c)
        ).one()
        _add_history(connection, row.id, state, message, now, attempt, new_agent, new_identifier)
        return updated

    def request_cancellation(self, run_id: str) -> FlowRunRecord:
        """Scheduled runs are Cancelled at once; claimed ones go to Cancelling (their agent
        kills them and sets Cancelled); a final run raises StateConflict."""
        now = _now()
        with self._transaction() as connection:
            row = self._find_run(connection, run_id, lock=True)
            current = StateType(row.state)
            if current.is_final:
                raise StateConflict(f"flow run {row.id} is already {current.value}")
            if current is StateType.CANCELLING:
                return _run_from_row(row)
            if current is StateType.SCHEDULED:
                state, message = StateType.CANCELLED, "cancelled before it started"
                values: dict[str, Any] = {"end_time": now}
            else:
                state, message = StateType.CANCELLING, "cancellation requested"
                values = {}
            values.update(state=state.value, state_message=message, updated=now)
            connection.execute(
                t.flow_runs.update().where(t.flow_runs.c.id == row.id).values(values)
            )
            _add_history(
                connection, row.id, state, message, now, row.attempt, row.agent_id, row.identifier
            )
            stored = connection.execute(_run_query(row.id)).one()
        return _run_from_row(stored)

    # -- logs -----------------------------------------------------------------------

    def append_logs(self, run_id: str, lines: Sequence[LogLine]) -> None:
        """Store lines after the run's previous ones (``seq`` goes on from the last)."""
        if not lines:
            return
        with self._transaction() as connection:
            last = connection.execute(
                t.flow_runs.update()
                .where(t.flow_runs.c.id == run_id)
                .values(log_count=t.flow_runs.c.log_count + len(lines))
                .returning(t.flow_runs.c.log_count)
            ).scalar()
            if last is None:
                raise FlowRunNotFound(f"no flow run with id {run_id!r}")
            first = last - len(lines) + 1
            connection.execute(
                t.logs.insert(),
                [
                    {
                        "flow_run_id": run_id,
                        "seq": first + offset,
                        "timestamp": line.timestamp,
                        "stream": line.stream,
                        "text": line.text,
                        "attempt": line.attempt,
                    }
                    for offset, line in enumerate(lines)
                ],
            )

    def read_logs(self, run_id: str, *, after: int = 0, limit: int = 1000) -> list[StoredLogLine]:
        """Lines with ``seq > after``, in order: pass the last seq seen to follow a run."""
        with self._transaction(write=False) as connection:
            rows = connection.execute(
                sa.select(t.logs)
                .where(t.logs.c.flow_run_id == run_id, t.logs.c.seq > after)
                .order_by(t.logs.c.seq)
                .limit(limit)
            )
            return [
                StoredLogLine(
                    timestamp=row.timestamp,
                    stream=row.stream,
                    text=row.text,
                    attempt=row.attempt,
                    seq=row.seq,
                )
                for row in rows
            ]

    # -- agents ---------------------------------------------------------------------

    def register_agent(self, name: str, queues: Sequence[str], limit: int | None) -> AgentRecord:
        now = _now()
        record = AgentRecord(
            id=str(uuid.uuid4()),
            name=name,
            queues=tuple(queues),
            limit=limit,
            started=now,
            last_heartbeat=now,
            stopped=None,
        )
        with self._transaction() as connection:
            connection.execute(
                t.agents.insert().values(
                    id=record.id,
                    name=name,
                    queues=_dumps(list(queues)),
                    concurrency_limit=limit,
                    started=now,
                    last_heartbeat=now,
                )
            )
            self._ensure_work_queues(connection, list(queues))
        return record

    def heartbeat(self, agent_id: str) -> None:
        with self._transaction() as connection:
            connection.execute(
                t.agents.update().where(t.agents.c.id == agent_id).values(last_heartbeat=_now())
            )

    def deregister_agent(self, agent_id: str) -> None:
        with self._transaction() as connection:
            connection.execute(
                t.agents.update().where(t.agents.c.id == agent_id).values(stopped=_now())
            )

    def list_agents(self, *, alive_since: datetime | None = None) -> list[AgentRecord]:
        """Every agent that ever registered, newest first; with ``alive_since``, only those
        not stopped that sent a heartbeat since then."""
        query = sa.select(t.agents).order_by(t.agents.c.started.desc())
        if alive_since is not None:
            query = query.where(
                t.agents.c.stopped.is_(None), t.agents.c.last_heartbeat >= alive_since
            )
        with self._transaction(write=False) as connection:
            return [_agent_from_row(row) for row in connection.execute(query)]

    def get_agent(self, agent_id: str) -> AgentRecord | None:
        """The agent with that id; None when the store has no record of it."""
        with self._transaction(write=False) as connection:
            row = connection.execute(sa.select(t.agents).where(t.agents.c.id == agent_id)).first()
        return None if row is None else _agent_from_row(row)

    def claim_runs(
        self, agent_id: str, queues: Sequence[str], limit: int, now: datetime | None = None
    ) -> list[FlowRunRecord]:
        """Move up to ``limit`` due Scheduled runs of ``queues`` (empty: all) to Pending for
        this agent, oldest due first, within the work queues' concurrency limits.

        A run is never handed to two agents: SQLite serialises claims (BEGIN IMMEDIATE),
        PostgreSQL locks the candidate rows and skips those another claim holds."""
        if limit <= 0:
            return []
        now = now or _now()
        claimed: list[str] = []
        with self._transaction() as connection:
            capacity = self._queue_capacity(connection, queues)
            full = {name for name, free in capacity.items() if free <= 0}
            while len(claimed) < limit:
                query = sa.select(t.flow_runs.c.id, t.flow_runs.c.work_queue).where(
                    t.flow_runs.c.state == StateType.SCHEDULED.value,
                    t.flow_runs.c.scheduled_time <= now,
                )
                if queues:
                    query = query.where(t.flow_runs.c.work_queue.in_(list(queues)))
                if full:
                    query = query.where(t.flow_runs.c.work_queue.not_in(sorted(full)))
                if claimed:
                    query = query.where(t.flow_runs.c.id.not_in(claimed))
                query = query.order_by(t.flow_runs.c.scheduled_time, t.flow_runs.c.created)
                query = self._for_update(query.limit(limit - len(claimed)), skip_locked=True)
                candidates = connection.execute(query).all()
                if not candidates:
                    break
                queue_filled = False
                for candidate in candidates:
                    if candidate.work_queue in full:
                        continue  # filled up by an earlier candidate of this batch
                    if candidate.work_queue in capacity:
                        capacity[candidate.work_queue] -= 1
                        if capacity[candidate.work_queue] <= 0:
                            full.add(candidate.work_queue)
                            queue_filled = True
                    claimed.append(candidate.id)
                if not queue_filled:
                    break  # every candidate was taken: the limit is reached or no run is left
            if not claimed:
                return []
            stamp = _now()
            updated = connection.execute(
                t.flow_runs.update()
                .where(t.flow_runs.c.id.in_(claimed))
                .values(
                    state=StateType.PENDING.value,
                    state_message="",
                    agent_id=agent_id,
                    updated=stamp,
                )
                .returning(*t.flow_runs.c)
            ).all()
            rows = sorted(updated, key=lambda row: (row.scheduled_time, row.created))
            connection.execute(
                t.flow_run_states.insert(),
                [
                    _history_values(
                        row.id, StateType.PENDING, "", stamp, row.attempt, agent_id, None
                    )
                    for row in rows
                ],
            )
        return [_run_from_row(row) for row in rows]

    def _queue_capacity(self, connection: sa.Connection, queues: Sequence[str]) -> dict[str, int]:
        """Free slots of each limited work queue among ``queues``, their rows locked on
        PostgreSQL so that concurrent claims on a limited queue take turns."""
        query = sa.select(t.work_queues.c.name, t.work_queues.c.concurrency_limit).where(
            t.work_queues.c.concurrency_limit.is_not(None)
        )
        if queues:
            query = query.where(t.work_queues.c.name.in_(list(queues)))
        limits = {
            row.name: row.concurrency_limit
            for row in connection.execute(self._for_update(query.order_by(t.work_queues.c.name)))
        }
        if not limits:
            return {}
        active: dict[str, int] = dict(
            connection.execute(
                sa.select(t.flow_runs.c.work_queue, sa.func.count())
                .where(
                    t.flow_runs.c.work_queue.in_(list(limits)),
                    t.flow_runs.c.state.in_([s.value for s in ACTIVE_STATES]),
                )
                .group_by(t.flow_runs.c.work_queue)
            ).all()
        )
        return {name: limit - int(active.get(name, 0)) for name, limit in limits.items()}

    def runs_of_agent(self, agent_id: str, states: Collection[StateType]) -> list[FlowRunRecord]:
        query = sa.select(t.flow_runs).where(t.flow_runs.c.agent_id == agent_id)
        if states:
            query = query.where(t.flow_runs.c.state.in_([s.value for s in states]))
        with self._transaction(write=False) as connection:
            return [
                _run_from_row(row)
                for row in connection.execute(query.order_by(t.flow_runs.c.created))
            ]

    def orphaned_runs(
        self, *, stale_after: timedelta, queues: Sequence[str]
    ) -> list[FlowRunRecord]:
        """Pending/Running/Cancelling runs whose agent is gone: stopped, silent for longer
        than ``stale_after``, unknown, or never set."""
        cutoff = _now() - stale_after
        query = (
            sa.select(t.flow_runs)
            .select_from(t.flow_runs.outerjoin(t.agents, t.agents.c.id == t.flow_runs.c.agent_id))
            .where(
                t.flow_runs.c.state.in_([s.value for s in ACTIVE_STATES]),
                sa.or_(
                    t.agents.c.id.is_(None),
                    t.agents.c.stopped.is_not(None),
                    t.agents.c.last_heartbeat < cutoff,
                ),
            )
            .order_by(t.flow_runs.c.created)
        )
        if queues:
            query = query.where(t.flow_runs.c.work_queue.in_(list(queues)))
        with self._transaction(write=False) as connection:
            return [_run_from_row(row) for row in connection.execute(query)]

    def adopt_run(
        self, run_id: str, agent_id: str, previous_agent_id: str | None
    ) -> FlowRunRecord | None:
        """Make ``agent_id`` the owner if ``previous_agent_id`` still is (compare-and-set);
        None when another agent adopted it first or the run has finished meanwhile."""
        owner = t.flow_runs.c.agent_id
        with self._transaction() as connection:
            result = connection.execute(
                t.flow_runs.update()
                .where(
                    t.flow_runs.c.id == run_id,
                    owner.is_(None) if previous_agent_id is None else owner == previous_agent_id,
                    t.flow_runs.c.state.in_([s.value for s in ACTIVE_STATES]),
                )
                .values(agent_id=agent_id, updated=_now())
            )
            if result.rowcount != 1:
                return None
            row = connection.execute(_run_query(run_id)).one()
        return _run_from_row(row)

    # -- schedules ------------------------------------------------------------------

    def schedule_due_runs(self, now: datetime, horizon: timedelta) -> int:
        """Create the runs every schedule has in ``(now - slack, now + horizon]``; returns
        how many were new. Idempotent: each (deployment, time) gets one run, whoever asks."""
        with self._transaction(write=False) as connection:
            scheduled = connection.execute(
                sa.select(t.deployments).where(t.deployments.c.schedule.is_not(None))
            ).all()
        created = 0
        for row in scheduled:
            record = _deployment_from_row(row)
            assert record.schedule is not None and record.updated is not None
            after = max(now - SCHEDULE_SLACK, record.updated)
            times = list(
                islice(schedule_times(record.schedule, after, now + horizon), MAX_RUNS_PER_SCHEDULE)
            )
            if times:
                created += self._create_scheduled_runs(record, times)
        return created

    def _create_scheduled_runs(self, record: DeploymentRecord, times: list[datetime]) -> int:
        stamp = _now()
        rows = []
        for at in times:
            values = _new_run_values(record, stamp, at)
            values["schedule_key"] = at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            rows.append(values)
        with self._transaction() as connection:
            inserted = (
                connection.execute(
                    self._insert(t.flow_runs)
                    .values(rows)
                    .on_conflict_do_nothing(index_elements=["deployment_id", "schedule_key"])
                    .returning(t.flow_runs.c.id)
                )
                .scalars()
                .all()
            )
            if inserted:
                connection.execute(
                    t.flow_run_states.insert(),
                    [
                        _history_values(
                            run_id,
                            StateType.SCHEDULED,
                            "created by the schedule",
                            stamp,
                            1,
                            None,
                            None,
                        )
                        for run_id in inserted
                    ],
                )
        return len(inserted)

    # -- work queues ----------------------------------------------------------------

    def set_work_queue_limit(self, name: str, limit: int | None) -> WorkQueueRecord:
        """At most ``limit`` runs of the queue Pending, Running or Cancelling at once
        (None: no limit)."""
        if limit is not None and limit < 0:
            raise StoreError(f"a work queue limit must be 0 or more, not {limit}")
        with self._transaction() as connection:
            connection.execute(
                self._insert(t.work_queues)
                .values(name=name, concurrency_limit=limit, created=_now())
                .on_conflict_do_update(index_elements=["name"], set_={"concurrency_limit": limit})
            )
        return next(q for q in self.list_work_queues() if q.name == name)

    def list_work_queues(self) -> list[WorkQueueRecord]:
        """Every queue a deployment, an agent or a limit mentioned, with its run counts."""
        with self._transaction(write=False) as connection:
            limits = dict(
                connection.execute(
                    sa.select(t.work_queues.c.name, t.work_queues.c.concurrency_limit)
                ).all()
            )
            counts = connection.execute(
                sa.select(t.flow_runs.c.work_queue, t.flow_runs.c.state, sa.func.count())
                .where(
                    t.flow_runs.c.state.in_(
                        [StateType.SCHEDULED.value, *(s.value for s in ACTIVE_STATES)]
                    )
                )
                .group_by(t.flow_runs.c.work_queue, t.flow_runs.c.state)
            ).all()
            active: dict[str, int] = {}
            waiting: dict[str, int] = {}
            for queue, state, count in counts:
                limits.setdefault(queue, None)
                target = waiting if state == StateType.SCHEDULED.value else active
                target[queue] = target.get(queue, 0) + int(count)
        return [
            WorkQueueRecord(
                name=name,
                concurrency_limit=limits[name],
                active_runs=active.get(name, 0),
                scheduled_runs=waiting.get(name, 0),
            )
            for name in sorted(limits)
        ]


# Answers of a PostgreSQL server that mean the URL is wrong, not that the server is busy
# or down (libpq gives no SQLSTATE for a refused connection, only the server's text).
_REFUSED_FOR_GOOD = (
    "password authentication failed",
    "no pg_hba.conf entry",
    "does not exist",  # the database, or the role
)


def _refused_for_good(exc: BaseException) -> bool:
    text = str(getattr(exc, "orig", None) or exc)
    return "FATAL" in text and any(phrase in text for phrase in _REFUSED_FOR_GOOD)


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    return (str(original).strip().splitlines() or [type(original).__name__])[0]


def _agent_from_row(row: Any) -> AgentRecord:
    return AgentRecord(
        id=row.id,
        name=row.name,
        queues=tuple(json.loads(row.queues)),
        limit=row.concurrency_limit,
        started=row.started,
        last_heartbeat=row.last_heartbeat,
        stopped=row.stopped,
    )


def _deployment_values(spec: DeploymentSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "entrypoint": spec.entrypoint,
        "flow_name": spec.flow_name,
        "working_dir": spec.working_dir,
        "parameters": _dumps(spec.parameters),
        "infrastructure": _dumps(spec.infrastructure),
        "work_queue": spec.work_queue,
        "tags": _dumps(list(spec.tags)),
        "description": spec.description,
        "version": spec.version,
        "schedule": schedule_to_json(spec.schedule),
        "retries": spec.retries,
        "retry_delay_seconds": float(spec.retry_delay_seconds),
    }


def _deployment_from_row(row: Any) -> DeploymentRecord:
    return DeploymentRecord(
        id=row.id,
        name=row.name,
        entrypoint=row.entrypoint,
        flow_name=row.flow_name,
        working_dir=row.working_dir,
        parameters=json.loads(row.parameters),
        infrastructure=json.loads(row.infrastructure),
        work_queue=row.work_queue,
        tags=tuple(json.loads(row.tags)),
        description=row.description,
        version=row.version,
        schedule=schedule_from_json(row.schedule),
        retries=row.retries,
        retry_delay_seconds=row.retry_delay_seconds,
        created=row.created,
        updated=row.updated,
    )


def _new_run_values(
    record: DeploymentRecord, now: datetime, scheduled_time: datetime
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "deployment_id": record.id,
        "deployment_name": record.name,
        "flow_name": record.flow_name,
        "entrypoint": record.entrypoint,
        "working_dir": record.working_dir,
        "parameters": _dumps(record.parameters),
        "overrides": _dumps({}),
        "infrastructure": _dumps(record.infrastructure),
        "work_queue": record.work_queue,
        "state": StateType.SCHEDULED.value,
        "state_message": "",
        "scheduled_time": scheduled_time,
        "schedule_key": None,
        "created": now,
        "updated": now,
        "attempt": 1,
        "retries": record.retries,
        "retry_delay_seconds": record.retry_delay_seconds,
        "log_count": 0,
    }


def _run_query(run_id: str) -> sa.Select[Any]:
    return sa.select(t.flow_runs).where(t.flow_runs.c.id == run_id)


def _run_from_row(row: Any) -> FlowRunRecord:
    return FlowRunRecord(
        id=row.id,
        deployment_id=row.deployment_id,
        deployment_name=row.deployment_name,
        flow_name=row.flow_name,
        entrypoint=row.entrypoint,
        working_dir=row.working_dir,
        parameters=json.loads(row.parameters),
        overrides=json.loads(row.overrides),
        infrastructure=json.loads(row.infrastructure),
        work_queue=row.work_queue,
        state=StateType(row.state),
        state_message=row.state_message,
        scheduled_time=row.scheduled_time,
        created=row.created,
        start_time=row.start_time,
        end_time=row.end_time,
        agent_id=row.agent_id,
        identifier=row.identifier,
        exit_code=row.exit_code,
        attempt=row.attempt,
        retries=row.retries,
        retry_delay_seconds=row.retry_delay_seconds,
        auto_scheduled=row.schedule_key is not None,
    )


def _history_values(
    run_id: str,
    state: StateType,
    message: str,
    timestamp: datetime,
    attempt: int,
    agent_id: str | None,
    identifier: str | None,
) -> dict[str, Any]:
    return {
        "flow_run_id": run_id,
        "type": state.value,
        "message": message,
        "timestamp": timestamp,
        "attempt": attempt,
        "agent_id": agent_id,
        "identifier": identifier,
    }


def _add_history(connection: sa.Connection, *args: Any) -> None:
    connection.execute(t.flow_run_states.insert().values(_history_values(*args)))
