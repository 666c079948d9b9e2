"""The store: deployments, flow runs with their state history and logs, agents and
work queues, in SQLite (the default, ``$SHIPWAY_HOME/shipway.db``) or PostgreSQL
(``SHIPWAY_DATABASE_URL=postgresql://...``).

Importing this package loads SQLAlchemy: only the commands and the agent that use the
store import it (``shipway run`` and ``shipway --help`` never do). Schedules, which the
deployment models need without a database, live in ``shipway.schedules``.

:class:`Store` is one façade over small parts, one concern each: ``_deployments``,
``_flow_runs`` (create, find, list, count, history), ``_transitions`` (every state change
goes through one ``move``), ``_claims`` (which agent holds which run), ``_agents``,
``_logs``, ``_work_queues`` and ``_scheduled_runs``; ``_rows`` maps rows to records.

Deviations from / additions to the orchestration contract (for the agent's authors):

- ``set_state(run_id, StateChange(...), expected=...)``: a change is one value (state,
  message, identifier, exit code, owner, next attempt, ``Retry``); ``expected`` guards it.
- ``StateChange(next_attempt=True)`` also clears identifier, exit code, start and end time
  (they belong to the previous attempt, which the history keeps).
- ``FlowRunRecord.auto_scheduled`` (extra, defaulted): True for runs a schedule created.
- ``WorkQueueRecord`` has ``active_runs`` (Pending+Running+Cancelling) and
  ``scheduled_runs`` (extra).
- ``Store.list_agents()`` and ``Store.get_agent(id)`` (extra).
- Run leases (extra): ``claim_runs(..., lease=)`` and ``adopt_run(..., lease=)`` give the
  agent a lease on each run, ``renew_leases`` extends it, ``adopt_run`` needs it expired,
  ``set_state(..., owner=)`` refuses a writer that no longer holds the run, and
  ``hand_back_run`` gives a run back without a lease.
- ``Store.list_flow_runs(..., work_queue=, before=RunPosition)`` (extra): filter by queue,
  and page through runs newest first by keyset (the position of the previous page's last).
- ``Store.count_flow_runs(...)`` and ``Store.count_runs_by_agent(states)`` (extra): counts
  made by the database, so that nothing lists runs only to count them.
- ``read_logs`` and ``append_logs`` take the full run id (no prefix lookup).
- ``request_cancellation`` on a run already Cancelling returns it unchanged.
- ``StoreUnavailable.exit_code`` is 3 (the CLI could not do anything).
- ``StoreFailed`` (extra): the database refused a statement unexpectedly; its message
  names the statement, never the values it carried.
- ``StoreNotWritable`` (extra, a ``StoreRefused``): the SQLite file or its folder is
  read-only or full, or the file is not a database (the message names the file), or a
  PostgreSQL user may not write.
- ``open_store(url, create=False)`` (extra): for commands that only read; no store
  there (a mistyped path) is ``StoreNotFound``, and nothing is created.
- ``StoreInterface`` (extra): the methods the agent and the run commands call, as a
  ``typing.Protocol``; ``Store`` implements it, and so does ``RemoteStore`` (the same
  calls over a shipway server's internal agent API, ``_remote``; JSON by ``_wire``).
- ``Store.listen()`` (extra): wake-ups (:class:`Wakeup`) when a run is created, a
  cancellation asked for or a schedule changed, through a :class:`WakeupListener`; the
  protocol :class:`WakeupSource` (a store that has none, ``RemoteStore`` today, leaves
  its agents polling). Agents poll as well.
- ``StoreRefused`` (extra): the server answers but refuses the URL (no such database or
  user, wrong password); not retryable for a command, retried by a running agent.
"""

from __future__ import annotations

from shipway.store._errors import (
    FlowRunNotFound,
    StateConflict,
    StoredDeploymentNotFound,
    StoreError,
    StoreFailed,
    StoreNotFound,
    StoreNotWritable,
    StoreRefused,
    StoreUnavailable,
)
from shipway.store._flow_runs import ACTIVE_STATES, RunPosition
from shipway.store._interface import StoreInterface
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
from shipway.store._remote import API_TOKEN_VAR, API_URL_VAR, RemoteStore
from shipway.store._scheduled_runs import SCHEDULE_SLACK
from shipway.store._secret_key import SecretKeyError
from shipway.store._store import Store, open_store
from shipway.store._transitions import Retry, StateChange
from shipway.store._url import DATABASE_URL_VAR, HOME_VAR, database_url, mask_url, shipway_home
from shipway.store._wakeups import Wakeup, WakeupListener, WakeupSource

__all__ = [
    "ACTIVE_STATES",
    "API_TOKEN_VAR",
    "API_URL_VAR",
    "DATABASE_URL_VAR",
    "HOME_VAR",
    "SCHEDULE_SLACK",
    "AgentRecord",
    "DeploymentRecord",
    "DeploymentSpec",
    "FlowRunNotFound",
    "FlowRunRecord",
    "LogLine",
    "RemoteStore",
    "Retry",
    "RunPosition",
    "SecretKeyError",
    "StateChange",
    "StateConflict",
    "StateRecord",
    "Store",
    "StoreError",
    "StoreFailed",
    "StoreInterface",
    "StoreNotFound",
    "StoreNotWritable",
    "StoreRefused",
    "StoreUnavailable",
    "StoredDeploymentNotFound",
    "StoredLogLine",
    "Wakeup",
    "WakeupListener",
    "WakeupSource",
    "WorkQueueRecord",
    "database_url",
    "mask_url",
    "open_store",
    "shipway_home",
]
