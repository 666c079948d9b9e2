"""``RemoteStore`` against a real server: the records it gives are those the database
gives (secrets still sealed, opened with the same key), the store's errors arrive as the
same classes, and the agent API refuses what the interface does not declare."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from _server_process import TOKEN, ServerProcess
from _store_helpers import spec
from shipway.errors import DeploymentNotFound
from shipway.secrets import reveal
from shipway.states import StateType
from shipway.store import (
    FlowRunNotFound,
    LogLine,
    RemoteStore,
    StateChange,
    StateConflict,
    Store,
    StoreFailed,
    StoreInterface,
    StoreRefused,
)
from shipway.store._interface import remote_methods
from shipway.store._remote import AGENT_API_PREFIX, MAX_LINE_CHARS

S = StateType


@pytest.fixture
def remote(remote_server: ServerProcess) -> Iterator[RemoteStore]:
    with RemoteStore(remote_server.url, token=TOKEN) as store:
        yield store


def deployment_with_secret(store: Store, name: str) -> str:
    infrastructure = {"type": "process", "env": {"API_TOKEN": "sealed-on-the-server-1234"}}
    store.apply_deployment(spec(name, infrastructure=infrastructure))
    return name


def test_both_stores_implement_the_interface(server_store: Store, remote: RemoteStore) -> None:
    """mypy checks the signatures (``cli/_store_access`` returns either as the
    interface); this checks that the agent API serves every method both have."""
    stores: list[StoreInterface] = [server_store, remote]
    declared = set(remote_methods())
    assert "claim_runs" in declared and "close" not in declared
    for store in stores:
        assert all(callable(getattr(store, name)) for name in declared)


def test_records_are_the_database_s_with_secrets_still_sealed(
    server_store: Store, remote: RemoteStore, request: pytest.FixtureRequest
) -> None:
    name = deployment_with_secret(server_store, f"sealed-{request.node.name[-20:]}")
    run = remote.create_flow_run(name, parameters={"x": 1}, overrides={"env": {"A": "b"}})

    assert remote.get_flow_run(run.id) == server_store.get_flow_run(run.id)
    assert remote.get_deployment(name) == server_store.get_deployment(name)
    assert remote.state_history(run.id) == server_store.state_history(run.id)
    secret = remote.get_flow_run(run.id).infrastructure["env"]["API_TOKEN"]
    assert reveal(secret) == "sealed-on-the-server-1234"  # opened here, with the key

    remote.set_state(run.id, StateChange(S.CANCELLED, "stopped"), expected=[S.SCHEDULED])
    assert server_store.get_flow_run(run.id).state is S.CANCELLED


def test_store_errors_arrive_as_the_same_classes(
    server_store: Store, remote: RemoteStore, request: pytest.FixtureRequest
) -> None:
    name = deployment_with_secret(server_store, f"errors-{request.node.name[-20:]}")
    run = remote.create_flow_run(name)
    remote.request_cancellation(run.id)

    with pytest.raises(StateConflict):
        remote.request_cancellation(run.id)  # already Cancelled
    with pytest.raises(StateConflict):
        remote.set_state(run.id, StateChange(S.RUNNING), expected=[S.PENDING])
    with pytest.raises(FlowRunNotFound):
        remote.get_flow_run("ffffffff-no-such-run")
    with pytest.raises(DeploymentNotFound, match="no-such-deployment"):
        remote.get_deployment("no-such-deployment")
    agent = remote.register_agent("probe", ["q"], 2, ["process"])
    assert remote.renew_leases(agent.id, timedelta(seconds=5)) == []
    assert remote.get_agent(agent.id) == server_store.get_agent(agent.id)
    remote.deregister_agent(agent.id)


def test_a_line_too_long_for_one_request_is_cut_and_kept(
    server_store: Store, remote: RemoteStore, request: pytest.FixtureRequest
) -> None:
    name = deployment_with_secret(server_store, f"long-{request.node.name[-20:]}")
    run = remote.create_flow_run(name)
    now = datetime.now(timezone.utc)
    lines = [
        LogLine(now, "stdout", "x" * 3_000_000),
        *(LogLine(now, "stdout", f"{i}") for i in range(3)),
    ]

    remote.append_logs(run.id, lines)

    stored = server_store.read_logs(run.id)
    assert [line.text for line in stored[1:]] == ["0", "1", "2"]
    assert stored[0].text.startswith("x" * MAX_LINE_CHARS)
    assert stored[0].text.endswith(f"[... {3_000_000 - MAX_LINE_CHARS} more characters not kept]")


def test_the_agent_api_refuses_what_the_interface_does_not_declare(
    remote_server: ServerProcess,
) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=remote_server.url + AGENT_API_PREFIX, headers=headers) as http:
        unknown = http.post("/drop_everything", json={})
        assert unknown.status_code == 404
        assert "no call named 'drop_everything'" in unknown.json()["error"]["message"]
        assert http.post("/close", json={}).status_code == 404  # each side's own
        extra = http.post("/get_flow_run", json={"run_id": "x", "sql": "DROP"})
        assert extra.status_code == 422 and extra.json()["error"]["field"] == "sql"
        wrong = http.post("/set_work_queue_limit", json={"name": "q", "limit": "many"})
        assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "limit"
        missing = http.post("/get_flow_run", json={})
        assert missing.status_code == 422 and "run_id" in missing.json()["error"]["message"]
        assert http.get("/list_agents").status_code == 405
    no_token = httpx.post(remote_server.url + AGENT_API_PREFIX + "/list_agents", json={})
    assert no_token.status_code == 401


def test_the_token_is_never_shown(remote_server: ServerProcess) -> None:
    store = RemoteStore(remote_server.url, token=TOKEN)
    assert TOKEN not in repr(store) and TOKEN not in store.url
    refused = RemoteStore(remote_server.url, token="not-the-token-" + "n" * 30)
    with pytest.raises(StoreRefused) as caught:
        refused.list_work_queues()
    assert "not-the-token" not in str(caught.value)


def test_the_read_only_token_cannot_drive_an_agent(store_url: str, shipway_home: Path) -> None:
    from _server_client import live_server
    from _server_fixtures import READ_ONLY_TOKEN
    from _server_fixtures import TOKEN as FULL_TOKEN
    from shipway.server import ServerSettings, create_app

    settings = ServerSettings(
        store_url=store_url, token=FULL_TOKEN, read_only_token=READ_ONLY_TOKEN
    )
    with live_server(create_app(settings)) as url:
        with (
            RemoteStore(url, token=READ_ONLY_TOKEN) as viewer,
            pytest.raises(StoreRefused) as caught,
        ):
            viewer.list_work_queues()
        assert "may only read" in caught.value.message
        assert caught.value.hint == (
            "Agents and commands need the server's full token, not the read-only one."
        )
        with RemoteStore(url, token=FULL_TOKEN) as agent:
            assert agent.list_work_queues() == []


def test_a_server_that_is_not_shipway_is_refused_in_one_message() -> None:
    def not_shipway(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, html="<html>welcome to nginx</html>")

    store = RemoteStore("http://127.0.0.1:9", transport=httpx.MockTransport(not_shipway))
    with pytest.raises(StoreRefused, match="not the shipway agent API's answer"):
        store.list_agents()


def test_an_answer_of_another_version_is_one_message() -> None:
    def older(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"result": [{"id": "a1", "name": "x"}]})

    store = RemoteStore("http://127.0.0.1:9", transport=httpx.MockTransport(older))
    with pytest.raises(StoreFailed, match="does not fit this shipway's") as caught:
        store.list_agents()
    assert caught.value.hint == "Run the same shipway version on the server and here."
