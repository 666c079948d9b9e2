"""The store: deployments, flow runs with their state history and logs, agents and
work queues, in SQLite (the default, ``$SHIPWAY_HOME/shipway.db``) or PostgreSQL
(``SHIPWAY_DATABASE_URL=postgresql://...``).

Importing this package loads SQLAlchemy: only the commands and the agent that use the
store import it (``shipway run`` and ``shipway --help`` never do). Schedules, which the
deployment models need without a database, live in ``shipway.schedules``.

Deviations from / additions to the orchestration contract (for the agent's authors):

- ``FlowRunRecord.auto_scheduled`` (extra, defaulted): True for runs a schedule created.
- ``WorkQueueRecord`` has ``active_runs`` (Pending+Running+Cancelling) and
  ``scheduled_runs`` (extra).
- ``Store.list_agents()`` and ``Store.get_agent(id)`` (extra).
- ``read_logs`` and ``append_logs`` take the full run id (no prefix lookup).
- ``set_state(..., next_attempt=True)`` also clears identifier, exit code, start and end time
  (they belong to the previous attempt, which the history keeps).
- ``request_cancellation`` on a run already Cancelling returns it unchanged.
- ``StoreUnavailable.exit_code`` is 3 (the CLI could not do anything).
- ``StoreRefused`` (extra): the server answers but refuses the URL (no such database or
  user, wrong password); not retryable for a command, retried by a running agent.
"""

from __future__ import annotations

from shipway.store._errors import (
    DeploymentNotFound,
    FlowRunNotFound,
    StateConflict,
    StoreError,
    StoreRefused,
    StoreUnavailable,
)
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
from shipway.store._store import ACTIVE_STATES, SCHEDULE_SLACK, Store, open_store
from shipway.store._url import DATABASE_URL_VAR, HOME_VAR, database_url, mask_url, shipway_home

__all__ = [
    "ACTIVE_STATES",
    "DATABASE_URL_VAR",
    "HOME_VAR",
    "SCHEDULE_SLACK",
    "AgentRecord",
    "DeploymentNotFound",
    "DeploymentRecord",
    "DeploymentSpec",
    "FlowRunNotFound",
    "FlowRunRecord",
    "LogLine",
    "StateConflict",
    "StateRecord",
    "Store",
    "StoreError",
    "StoreRefused",
    "StoreUnavailable",
    "StoredLogLine",
    "WorkQueueRecord",
    "database_url",
    "mask_url",
    "open_store",
    "shipway_home",
]
