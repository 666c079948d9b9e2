"""The Store: one façade over the parts that each keep one concern (deployments, flow
runs, their state changes, claims, agents, logs, work queues, scheduled runs), all on
one :class:`~shipway.store._database.Database`.

Each method is one short transaction, safe to call from several threads and processes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from shipway.states import StateType
from shipway.store._agents import Agents
from shipway.store._claims import Claims
from shipway.store._database import Database
from shipway.store._deployments import Deployments
from shipway.store._flow_runs import ACTIVE_STATES, FlowRuns, RunPosition
from shipway.store._logs import Logs
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
from shipway.store._scheduled_runs import ScheduledRuns
from shipway.store._transitions import StateChange, Transitions
from shipway.store._url import database_url
from shipway.store._wakeups import WakeupListener
from shipway.store._work_queues import WorkQueues

__all__ = ["Store", "open_store"]


def open_store(url: str | None = None, *, create: bool = True) -> Store:
    """Open (and create and migrate, the first time) the store at ``url``.

    Default: ``$SHIPWAY_DATABASE_URL``, else ``sqlite:///$SHIPWAY_HOME/shipway.db``.
    ``create=False`` (commands that only read): StoreNotFound when there is no store
    there yet, and nothing is created, neither a folder nor a file nor tables.
    """
    return Store(database_url(url), create=create)


class Store:
    """The run history database (SQLite or PostgreSQL)."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        self._db = Database(url, create=create)
        self.url = self._db.url
        self.backend = self._db.backend
        self._deployments = Deployments(self._db)
        self._runs = FlowRuns(self._db)
        self._transitions = Transitions(self._db)
        self._logs = Logs(self._db)
        self._agents = Agents(self._db)
        self._claims = Claims(self._db)
        self._scheduled_runs = ScheduledRuns(self._db)
        self._work_queues = WorkQueues(self._db)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    # -- deployments ----------------------------------------------------------------

    def apply_deployment(self, spec: DeploymentSpec) -> tuple[DeploymentRecord, str]:
        """Create or update the deployment named ``spec.name``: "created", "updated" or
        "unchanged". A changed schedule drops the runs the old one had planned."""
        return self._deployments.apply_deployments([spec])[0]

    def apply_deployments(
        self, specs: Sequence[DeploymentSpec]
    ) -> list[tuple[DeploymentRecord, str]]:
        """:meth:`apply_deployment` for each, in one transaction: all or none."""
        return self._deployments.apply_deployments(specs)

    def get_deployment(self, name: str) -> DeploymentRecord:
        return self._deployments.get_deployment(name)

    def list_deployments(self) -> list[DeploymentRecord]:
        return self._deployments.list_deployments()

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
        record = self._deployments.get_deployment(deployment)
        return self._runs.create_flow_run(
            record, parameters=parameters, overrides=overrides, scheduled_time=scheduled_time
        )

    def get_flow_run(self, run_id: str) -> FlowRunRecord:
        """The run with that id, or the only one whose id starts with it (>= 4 chars)."""
        return self._runs.get_flow_run(run_id)

    def list_flow_runs(
        self,
        *,
        deployment: str | None = None,
        states: Collection[StateType] | None = None,
        limit: int = 50,
        work_queue: str | None = None,
        before: RunPosition | None = None,
    ) -> list[FlowRunRecord]:
        """Newest first: by scheduled time, then creation, then id. ``before``: the runs
        after that position (``RunPosition.of(last run of the previous page)``)."""
        return self._runs.list_flow_runs(
            deployment=deployment,
            states=states,
            limit=limit,
            work_queue=work_queue,
            before=before,
        )

    def count_flow_runs(
        self,
        *,
        deployment: str | None = None,
        states: Collection[StateType] | None = None,
        work_queue: str | None = None,
    ) -> int:
        """How many runs match (every filter given), counted by the database."""
        return self._runs.count_flow_runs(
            deployment=deployment, states=states, work_queue=work_queue
        )

    def count_runs_per_hour(self, since: datetime, hours: int) -> dict[StateType, list[int]]:
        """Runs due in each of the ``hours`` whole hours from ``since`` (UTC, on the
        hour), by state (the dashboard's chart); states without a run are left out."""
        return self._runs.count_runs_per_hour(since, hours)

    def state_history(self, run_id: str) -> list[StateRecord]:
        """Every state the run went through, oldest first."""
        return self._runs.state_history(run_id)

    # -- state changes --------------------------------------------------------------

    def set_state(
        self,
        run_id: str,
        change: StateChange,
        *,
        expected: Collection[StateType] | None = None,
        owner: str | None = None,
    ) -> FlowRunRecord:
        """Move the run as ``change`` says and record it in the history.

        ``expected``: the states the caller believes the run is in; StateConflict otherwise
        (compare-and-set, so an agent never overwrites a cancellation it has not seen).
        ``owner``: the agent the caller believes holds the run; StateConflict otherwise
        (an agent never writes the state of a run another agent has taken over).
        ``change.retry`` (with Failed or Crashed): in the same transaction, schedule the
        next attempt, without an owner, so that nobody watching the run ever sees it final
        while a retry is coming; not when its cancellation was asked for (it was
        Cancelling): the returned record says which.
        """
        return self._transitions.set_state(run_id, change, expected=expected, owner=owner)

    def request_cancellation(self, run_id: str) -> FlowRunRecord:
        """Scheduled runs are Cancelled at once; claimed ones go to Cancelling (their agent
        kills them and sets Cancelled); a final run raises StateConflict."""
        return self._transitions.request_cancellation(run_id)

    # -- logs -----------------------------------------------------------------------

    def append_logs(self, run_id: str, lines: Sequence[LogLine]) -> None:
        """Store lines after the run's previous ones (``seq`` goes on from the last)."""
        self._logs.append_logs(run_id, lines)

    def read_logs(
        self, run_id: str, *, after: int = 0, limit: int = 1000, min_level: int | None = None
    ) -> list[StoredLogLine]:
        """Lines with ``seq > after``, in order: pass the last seq seen to follow a run.
        ``min_level``: only run logger records at that level or above (logging's numbers)."""
        return self._logs.read_logs(run_id, after=after, limit=limit, min_level=min_level)

    # -- agents ---------------------------------------------------------------------

    def register_agent(
        self,
        name: str,
        queues: Sequence[str],
        limit: int | None,
        infrastructure_types: Sequence[str] | None = None,
    ) -> AgentRecord:
        """``infrastructure_types``: the types whose runs it claims (None: any)."""
        return self._agents.register_agent(name, queues, limit, infrastructure_types)

    def heartbeat(self, agent_id: str) -> None:
        self._agents.heartbeat(agent_id)

    def deregister_agent(self, agent_id: str) -> None:
        self._agents.deregister_agent(agent_id)

    def list_agents(self, *, alive_since: datetime | None = None) -> list[AgentRecord]:
        """Every agent that ever registered, newest first; with ``alive_since``, only those
        not stopped that sent a heartbeat since then."""
        return self._agents.list_agents(alive_since=alive_since)

    def get_agent(self, agent_id: str) -> AgentRecord | None:
        """The agent with that id; None when the store has no record of it."""
        return self._agents.get_agent(agent_id)

    # -- claims ---------------------------------------------------------------------

    def claim_runs(
        self,
        agent_id: str,
        queues: Sequence[str],
        limit: int,
        now: datetime | None = None,
        *,
        infrastructure_types: Collection[str] | None = None,
        lease: timedelta | None = None,
    ) -> list[FlowRunRecord]:
        """Move up to ``limit`` due Scheduled runs of ``queues`` (empty: all) to Pending for
        this agent, oldest due first, within the work queues' concurrency limits; a run is
        never handed to two agents. ``infrastructure_types``: only runs of these types
        (None: of any type). ``lease``: how long the agent holds each run before it must
        renew the lease (None: no lease, the run is adopted once the agent is gone)."""
        return self._claims.claim_runs(agent_id, queues, limit, now, infrastructure_types, lease)

    def runs_of_agent(self, agent_id: str, states: Collection[StateType]) -> list[FlowRunRecord]:
        return self._claims.runs_of_agent(agent_id, states)

    def count_runs_by_agent(self, states: Collection[StateType] = ACTIVE_STATES) -> dict[str, int]:
        """How many runs in ``states`` each agent holds (agents holding none are left out)."""
        return self._claims.count_runs_by_agent(states)

    def orphaned_runs(
        self, *, stale_after: timedelta, queues: Sequence[str]
    ) -> list[FlowRunRecord]:
        """Pending/Running/Cancelling runs whose agent is gone (stopped, silent for longer
        than ``stale_after``, unknown, or never set) and whose lease has expired."""
        return self._claims.orphaned_runs(stale_after=stale_after, queues=queues)

    def adopt_run(
        self,
        run_id: str,
        agent_id: str,
        previous_agent_id: str | None,
        *,
        lease: timedelta | None = None,
    ) -> FlowRunRecord | None:
        """Make ``agent_id`` the owner, with a new ``lease``, if ``previous_agent_id`` still
        is and its lease has expired (compare-and-set); None when another agent adopted it
        first, its agent renewed the lease, or the run has finished meanwhile."""
        return self._claims.adopt_run(run_id, agent_id, previous_agent_id, lease)

    def hand_back_run(self, run_id: str, agent_id: str, to_agent_id: str) -> bool:
        """Give a run ``agent_id`` holds to ``to_agent_id`` (the agent that left it), without
        a lease, so that any agent may adopt it; False when ``agent_id`` no longer holds it."""
        return self._claims.hand_back_run(run_id, agent_id, to_agent_id)

    def renew_leases(
        self, agent_id: str, lease: timedelta, run_ids: Collection[str] | None = None
    ) -> list[str]:
        """Extend the lease on the live runs ``agent_id`` holds (or on those of ``run_ids``)
        to ``lease`` from now; returns the ids of the runs it still holds."""
        return self._claims.renew_leases(agent_id, lease, run_ids)

    # -- schedules ------------------------------------------------------------------

    def schedule_due_runs(self, now: datetime, horizon: timedelta) -> int:
        """Create the runs every schedule has in ``(now - slack, now + horizon]``; returns
        how many were new. Idempotent: each (deployment, time) gets one run, whoever asks."""
        return self._scheduled_runs.schedule_due_runs(now, horizon)

    # -- wake-ups -------------------------------------------------------------------

    def listen(self) -> contextlib.AbstractAsyncContextManager[WakeupListener]:
        """``async with store.listen() as listener``: ``await listener.wait()`` returns when
        a run was created, a cancellation asked for or a schedule changed (by any process
        on this store), with the reasons. A hint to act at once; keep polling too."""
        return self._db.listen()

    # -- work queues ----------------------------------------------------------------

    def set_work_queue_limit(self, name: str, limit: int | None) -> WorkQueueRecord:
        """At most ``limit`` runs of the queue Pending, Running or Cancelling at once
        (None: no limit)."""
        return self._work_queues.set_work_queue_limit(name, limit)

    def list_work_queues(self) -> list[WorkQueueRecord]:
        """Every queue a deployment, an agent or a limit mentioned, with its run counts."""
        return self._work_queues.list_work_queues()
