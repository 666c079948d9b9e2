# Each method returns what `_call` validated as its declared result type (`_wire`),
# which mypy sees as Any:
# mypy: disable-error-code="no-any-return"
"""``RemoteStore``: the store interface over a shipway server, for agents and commands
that hold an API token instead of the database's credentials.

Each method is one ``POST /api/agent/v1/<method>`` whose body holds the arguments by
name and whose answer holds the result, both as ``_wire`` writes them; the server calls
the very same :class:`~shipway.store.Store` method (a claim is one transaction there, so
exactly-once holds as on the database). Failures raise what the database store raises:

================================================  ========================================
What happened                                     Raised
================================================  ========================================
no connection (refused, reset, timed out), 503    ``StoreUnavailable`` (the agent waits)
401 (no or wrong token), 403 (read-only token)    ``StoreRefused`` (a command stops)
the server raised a store error                   the same class (``X-Shipway-Error``)
no agent API there (404, or not its answer)       ``StoreRefused``
any other answer (a 4xx or 5xx of its own)        ``StoreFailed``
================================================  ========================================

Connections that could not be opened are tried again twice at once (nothing was sent);
anything else is left to the caller, as with the database: the agent retries an
unavailable store, a command reports it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from shipway.errors import ConfigError, DeploymentNotFound, ParameterError, ShipwayError
from shipway.states import StateType
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
from shipway.store._records import (
    AgentRecord,
    DeploymentRecord,
    FlowRunRecord,
    LogLine,
    StateRecord,
    StoredLogLine,
    WorkQueueRecord,
)
from shipway.store._transitions import StateChange
from shipway.store._url import mask_url
from shipway.store._wire import from_wire, result_type, to_wire

if TYPE_CHECKING:
    import httpx

__all__ = [
    "AGENT_API_PREFIX",
    "API_TOKEN_VAR",
    "API_URL_VAR",
    "ERROR_TYPE_HEADER",
    "WIRE_ERRORS",
    "RemoteStore",
]

API_URL_VAR = "SHIPWAY_API_URL"
API_TOKEN_VAR = "SHIPWAY_API_TOKEN"
AGENT_API_PREFIX = "/api/agent/v1"
ERROR_TYPE_HEADER = "x-shipway-error"
CONNECT_SECONDS = 5.0
ANSWER_SECONDS = 60.0
"""A claim may wait on the database's locks: far longer than a query takes."""
MAX_BATCH_BYTES = 512 * 1024
"""Log lines per request at most (the server refuses bodies over 1 MiB by default)."""
MAX_LINE_CHARS = 128 * 1024

#: The errors a server passes on by name; the client raises the same class.
WIRE_ERRORS: dict[str, type[ShipwayError]] = {
    cls.__name__: cls
    for cls in (
        ShipwayError,
        ConfigError,
        ParameterError,
        DeploymentNotFound,
        StoreError,
        StoreUnavailable,
        StoreRefused,
        StoreNotWritable,
        StoreNotFound,
        StoreFailed,
        StoredDeploymentNotFound,
        FlowRunNotFound,
        StateConflict,
    )
}


class RemoteStore:
    """The store interface (:class:`~shipway.store.StoreInterface`) over the shipway
    server at ``api_url``; ``token`` (default ``$SHIPWAY_API_TOKEN``) is sent as a
    bearer token and never shown."""

    def __init__(
        self,
        api_url: str,
        *,
        token: str | None = None,
        timeout: float = ANSWER_SECONDS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        try:
            import httpx
        except ImportError:
            raise ShipwayError(
                f"talking to a shipway server ({API_URL_VAR} or --api) needs httpx, "
                "which is not installed",
                hint="Install it with: pip install 'shipway[remote]'",
            ) from None
        self._httpx = httpx
        parts = urlsplit(api_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"{API_URL_VAR} {mask_url(api_url)!r} is not a server's URL",
                hint="Give the server's address, e.g. http://127.0.0.1:4300",
            )
        if parts.password is not None:
            raise ConfigError(
                f"{API_URL_VAR} holds a password: give the token in {API_TOKEN_VAR} instead"
            )
        self.url = api_url.strip().rstrip("/")
        if token is None:
            token = os.environ.get(API_TOKEN_VAR, "").strip() or None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(
            base_url=self.url + AGENT_API_PREFIX,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=CONNECT_SECONDS),
            transport=transport or httpx.HTTPTransport(retries=2),
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RemoteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RemoteStore({self.url!r})"

    # -- one call -------------------------------------------------------------------

    def _call(self, method: str, **arguments: Any) -> Any:
        body = json.dumps({name: to_wire(value) for name, value in arguments.items()})
        httpx = self._httpx
        try:
            response = self._client.post(
                f"/{method}", content=body, headers={"Content-Type": "application/json"}
            )
        except httpx.TransportError as exc:
            raise StoreUnavailable(
                f"the shipway server at {self.url} cannot be reached: {type(exc).__name__}: {exc}"
            ) from None
        if response.status_code != 200:
            raise self._error(response)
        try:
            result = response.json()["result"]
        except (ValueError, KeyError, TypeError):
            raise StoreRefused(
                f"{self.url} answered {method} with something that is not the shipway agent "
                f"API's answer ({response.headers.get('content-type', 'no content type')})",
                hint="Is it a shipway server? Check SHIPWAY_API_URL or --api.",
            ) from None
        try:
            return from_wire(result, result_type(method))
        except ValidationError as exc:
            raise StoreFailed(
                f"the answer of {self.url} to {method} does not fit this shipway's: "
                f"{exc.error_count()} field(s), e.g. {exc.errors()[0]['loc']}",
                hint="Run the same shipway version on the server and here.",
            ) from None

    def _error(self, response: httpx.Response) -> ShipwayError:
        try:
            error = response.json()["error"]
            message, hint = str(error["message"]), error.get("hint")
        except (ValueError, KeyError, TypeError):
            message, hint = response.text[:200] or response.reason_phrase, None
        status = response.status_code
        named = WIRE_ERRORS.get(response.headers.get(ERROR_TYPE_HEADER, ""))
        if named is not None:
            return named(message, hint=hint)
        where = f"the shipway server at {self.url}"
        if status == 401:
            return StoreRefused(
                f"{where} refused the request: {message}",
                hint=f"Set {API_TOKEN_VAR} to the server's token.",
            )
        if status == 403:
            return StoreRefused(
                f"{where} refused the request: {message}",
                hint="Agents and commands need the server's full token, not the read-only one.",
            )
        if status == 404:
            return StoreRefused(
                f"{where} has no agent API at {AGENT_API_PREFIX} ({message})",
                hint="Is it a shipway server, and as recent as this shipway?",
            )
        if status in (502, 503, 504):
            return StoreUnavailable(f"{where} cannot reach its store: {message}")
        return StoreFailed(f"{where} answered {status}: {message}", hint=hint)

    # -- deployments and new runs ---------------------------------------------------

    def get_deployment(self, name: str) -> DeploymentRecord:
        return self._call("get_deployment", name=name)

    def list_deployments(self) -> list[DeploymentRecord]:
        return self._call("list_deployments")

    def create_flow_run(
        self,
        deployment: str,
        *,
        parameters: Mapping[str, Any] | None = None,
        overrides: Mapping[str, Any] | None = None,
        scheduled_time: datetime | None = None,
    ) -> FlowRunRecord:
        return self._call(
            "create_flow_run",
            deployment=deployment,
            parameters=parameters,
            overrides=overrides,
            scheduled_time=scheduled_time,
        )

    def schedule_due_runs(self, now: datetime, horizon: timedelta) -> int:
        return self._call("schedule_due_runs", now=now, horizon=horizon)

    # -- flow runs, their states and logs --------------------------------------------

    def get_flow_run(self, run_id: str) -> FlowRunRecord:
        return self._call("get_flow_run", run_id=run_id)

    def list_flow_runs(
        self,
        *,
        deployment: str | None = None,
        states: Collection[StateType] | None = None,
        limit: int = 50,
        work_queue: str | None = None,
        before: RunPosition | None = None,
    ) -> list[FlowRunRecord]:
        return self._call(
            "list_flow_runs",
            deployment=deployment,
            states=states,
            limit=limit,
            work_queue=work_queue,
            before=before,
        )

    def state_history(self, run_id: str) -> list[StateRecord]:
        return self._call("state_history", run_id=run_id)

    def set_state(
        self,
        run_id: str,
        change: StateChange,
        *,
        expected: Collection[StateType] | None = None,
        owner: str | None = None,
    ) -> FlowRunRecord:
        return self._call("set_state", run_id=run_id, change=change, expected=expected, owner=owner)

    def request_cancellation(self, run_id: str) -> FlowRunRecord:
        return self._call("request_cancellation", run_id=run_id)

    def append_logs(self, run_id: str, lines: Sequence[LogLine]) -> None:
        """In requests of at most ``MAX_BATCH_BYTES``, in order; a line longer than
        ``MAX_LINE_CHARS`` is cut there (and says so) so that no request is refused."""
        batch: list[LogLine] = []
        size = 0
        for line in map(_fitting, lines):
            line_size = len(json.dumps(to_wire(line)))
            if batch and size + line_size > MAX_BATCH_BYTES:
                self._call("append_logs", run_id=run_id, lines=batch)
                batch, size = [], 0
            batch.append(line)
            size += line_size
        if batch:
            self._call("append_logs", run_id=run_id, lines=batch)

    def read_logs(
        self, run_id: str, *, after: int = 0, limit: int = 1000, min_level: int | None = None
    ) -> list[StoredLogLine]:
        return self._call("read_logs", run_id=run_id, after=after, limit=limit, min_level=min_level)

    # -- agents, claims and leases ---------------------------------------------------

    def register_agent(
        self,
        name: str,
        queues: Sequence[str],
        limit: int | None,
        infrastructure_types: Sequence[str] | None = None,
    ) -> AgentRecord:
        return self._call(
            "register_agent",
            name=name,
            queues=queues,
            limit=limit,
            infrastructure_types=infrastructure_types,
        )

    def heartbeat(self, agent_id: str) -> None:
        self._call("heartbeat", agent_id=agent_id)

    def deregister_agent(self, agent_id: str) -> None:
        self._call("deregister_agent", agent_id=agent_id)

    def list_agents(self, *, alive_since: datetime | None = None) -> list[AgentRecord]:
        return self._call("list_agents", alive_since=alive_since)

    def get_agent(self, agent_id: str) -> AgentRecord | None:
        return self._call("get_agent", agent_id=agent_id)

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
        return self._call(
            "claim_runs",
            agent_id=agent_id,
            queues=queues,
            limit=limit,
            now=now,
            infrastructure_types=infrastructure_types,
            lease=lease,
        )

    def runs_of_agent(self, agent_id: str, states: Collection[StateType]) -> list[FlowRunRecord]:
        return self._call("runs_of_agent", agent_id=agent_id, states=states)

    def count_runs_by_agent(self, states: Collection[StateType] = ACTIVE_STATES) -> dict[str, int]:
        return self._call("count_runs_by_agent", states=states)

    def orphaned_runs(
        self, *, stale_after: timedelta, queues: Sequence[str]
    ) -> list[FlowRunRecord]:
        return self._call("orphaned_runs", stale_after=stale_after, queues=queues)

    def adopt_run(
        self,
        run_id: str,
        agent_id: str,
        previous_agent_id: str | None,
        *,
        lease: timedelta | None = None,
    ) -> FlowRunRecord | None:
        return self._call(
            "adopt_run",
            run_id=run_id,
            agent_id=agent_id,
            previous_agent_id=previous_agent_id,
            lease=lease,
        )

    def hand_back_run(self, run_id: str, agent_id: str, to_agent_id: str) -> bool:
        return self._call(
            "hand_back_run", run_id=run_id, agent_id=agent_id, to_agent_id=to_agent_id
        )

    def renew_leases(
        self, agent_id: str, lease: timedelta, run_ids: Collection[str] | None = None
    ) -> list[str]:
        return self._call("renew_leases", agent_id=agent_id, lease=lease, run_ids=run_ids)

    # -- work queues -----------------------------------------------------------------

    def list_work_queues(self) -> list[WorkQueueRecord]:
        return self._call("list_work_queues")

    def set_work_queue_limit(self, name: str, limit: int | None) -> WorkQueueRecord:
        return self._call("set_work_queue_limit", name=name, limit=limit)


def _fitting(line: LogLine) -> LogLine:
    if len(line.text) <= MAX_LINE_CHARS:
        return line
    cut = len(line.text) - MAX_LINE_CHARS
    text = f"{line.text[:MAX_LINE_CHARS]} [... {cut} more characters not kept]"
    return dataclasses.replace(line, text=text)
