"""The REST API through httpx against the app, on SQLite and PostgreSQL: what each route
answers, and the 4xx answers that name the field, the missing thing or the rule."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import pytest

from _server_client import ApiClient
from _store_helpers import spec
from shipway.states import StateType
from shipway.store import LogLine, StateChange, Store


@pytest.fixture
def hello(store: Store) -> str:
    store.apply_deployment(spec("hello", work_queue="etl"))
    return "hello"


def error_of(response: object) -> dict[str, object]:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}, body
    return dict(body["error"])


# -- deployments ---------------------------------------------------------------------


def test_deployments_list_and_get(client: ApiClient, hello: str) -> None:
    listed = client.get("/api/deployments").json()
    assert [d["name"] for d in listed] == ["hello"]
    one = client.get("/api/deployments/hello").json()
    assert one["flow"] == "flows/hello.py:hello"
    assert one["work_queue"] == "etl"
    assert one["infrastructure"]["env"] == {"TOKEN": "********"}  # masked as the CLI does


def test_unknown_deployment_is_404_naming_it(client: ApiClient) -> None:
    response = client.get("/api/deployments/nope")
    assert response.status_code == 404
    assert "'nope'" in str(error_of(response)["message"])


# -- creating runs -------------------------------------------------------------------


def test_create_run_answers_201_with_the_run(client: ApiClient, hello: str, store: Store) -> None:
    when = datetime.now(timezone.utc) + timedelta(hours=1)
    response = client.post(
        "/api/deployments/hello/runs",
        json={
            "parameters": {"who": "api"},
            "overrides": {"env": {"LEVEL": "debug"}},
            "scheduled_time": when.isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    run = response.json()
    assert run["state"] == "Scheduled"
    assert run["deployment"] == "hello"
    assert run["parameters"] == {"who": "api"}
    assert run["overrides"] == {"env": {"LEVEL": "debug"}}
    assert datetime.fromisoformat(run["scheduled_time"]) == when
    stored = store.get_flow_run(run["id"])
    assert stored.parameters == {"who": "api"} and stored.work_queue == "etl"


def test_create_run_with_an_empty_body_runs_now(client: ApiClient, hello: str) -> None:
    response = client.post("/api/deployments/hello/runs")
    assert response.status_code == 201
    assert response.json()["parameters"] == {"who": "world"}  # the deployment's defaults


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"parameters": [1]}, "parameters"),
        ({"scheduled_time": "2030-01-01T00:00:00"}, "scheduled_time"),  # no zone
        ({"parameter": {}}, "parameter"),  # a misspelt field
        ({"overrides": {"nonsense": 1}}, "overrides"),  # does not fit the infrastructure
        ({"overrides": {"env": "x"}}, "overrides"),
    ],
)
def test_create_run_bad_input_is_422_naming_the_field_and_writes_nothing(
    client: ApiClient, hello: str, store: Store, body: dict[str, object], field: str
) -> None:
    response = client.post("/api/deployments/hello/runs", json=body)
    assert response.status_code == 422, response.text
    assert error_of(response)["field"] == field
    assert store.count_flow_runs() == 0


def test_create_run_body_not_json_is_422(client: ApiClient, hello: str) -> None:
    response = client.post(
        "/api/deployments/hello/runs",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert error_of(response)["field"] == "body"


def test_create_run_of_unknown_deployment_is_404(client: ApiClient) -> None:
    response = client.post("/api/deployments/nope/runs", json={})
    assert response.status_code == 404


def test_body_over_the_limit_is_413_and_writes_nothing(
    client: ApiClient, hello: str, store: Store
) -> None:
    huge = {"parameters": {"blob": "x" * 2_000_000}}
    response = client.post("/api/deployments/hello/runs", json=huge)
    assert response.status_code == 413
    assert "larger than" in str(error_of(response)["message"])
    assert store.count_flow_runs() == 0


def test_chunked_body_over_the_limit_is_413(client: ApiClient, hello: str, store: Store) -> None:
    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the body streams
        yield b'{"parameters": {"blob": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}}'

    response = client.post("/api/deployments/hello/runs", content=chunks())
    assert response.status_code == 413
    assert store.count_flow_runs() == 0


# -- listing runs --------------------------------------------------------------------


def test_flow_runs_pages_newest_first_each_run_once(
    client: ApiClient, hello: str, store: Store
) -> None:
    start = datetime(2030, 1, 1, tzinfo=timezone.utc)
    created = [
        # Several runs share a scheduled time: the cursor breaks the ties too.
        store.create_flow_run("hello", scheduled_time=start + timedelta(minutes=i // 3)).id
        for i in range(23)
    ]
    seen: list[dict[str, object]] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, object] = {"limit": 5}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/flow-runs", params=params).json()
        seen += page["runs"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 5
    assert sorted(r["id"] for r in seen) == sorted(created)
    keys = [(r["scheduled_time"], r["created"], r["id"]) for r in seen]
    assert keys == sorted(keys, reverse=True)


def test_flow_runs_filters(client: ApiClient, store: Store) -> None:
    store.apply_deployment(spec("a", work_queue="q1"))
    store.apply_deployment(spec("b", work_queue="q2"))
    a = store.create_flow_run("a")
    b = store.create_flow_run("b")
    store.request_cancellation(b.id)

    def ids(**params: object) -> set[str]:
        response = client.get("/api/flow-runs", params=params)
        assert response.status_code == 200, response.text
        return {run["id"] for run in response.json()["runs"]}

    assert ids() == {a.id, b.id}
    assert ids(deployment="a") == {a.id}
    assert ids(work_queue="q2") == {b.id}
    assert ids(state="cancelled") == {b.id}
    assert ids(state="Scheduled,cancelled") == {a.id, b.id}
    assert ids(state="running") == set()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "sleeping"}, "state"),
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_flow_runs_bad_query_is_422_naming_the_field(
    client: ApiClient, params: dict[str, str], field: str
) -> None:
    response = client.get("/api/flow-runs", params=params)
    assert response.status_code == 422, response.text
    error = error_of(response)
    assert error.get("field") == field or field in str(error["message"])


def test_flow_runs_of_unknown_deployment_is_404(client: ApiClient) -> None:
    assert client.get("/api/flow-runs", params={"deployment": "nope"}).status_code == 404


# -- one run, its logs, cancelling -----------------------------------------------------


def test_flow_run_with_history_by_id_or_prefix(client: ApiClient, hello: str, store: Store) -> None:
    run = store.create_flow_run("hello")
    store.request_cancellation(run.id)
    for key in (run.id, run.id[:8]):
        body = client.get(f"/api/flow-runs/{key}").json()
        assert body["id"] == run.id
        assert [h["state"] for h in body["history"]] == ["Scheduled", "Cancelled"]
    assert client.get("/api/flow-runs/0000000000").status_code == 404


def test_logs_after(client: ApiClient, hello: str, store: Store) -> None:
    run = store.create_flow_run("hello")
    now = datetime.now(timezone.utc)
    store.append_logs(
        run.id,
        [
            LogLine(now, "stdout", "one"),
            LogLine(now, "stderr", "two https://u:hunter22@example.com"),
            LogLine(now, "stdout", "three"),
        ],
    )
    body = client.get(f"/api/flow-runs/{run.id}/logs").json()
    assert [line["text"] for line in body["lines"]] == [
        "one",
        "two https://u:********@example.com",
        "three",
    ]
    assert body["final"] is False and body["state"] == "Scheduled"
    second = body["lines"][1]["seq"]
    after = client.get(f"/api/flow-runs/{run.id}/logs", params={"after": second}).json()
    assert [line["text"] for line in after["lines"]] == ["three"]
    assert after["next_after"] == body["next_after"]


def test_logs_keep_levels_and_filter_by_level(
    client: ApiClient, hello: str, store: Store
) -> None:
    run = store.create_flow_run("hello")
    now = datetime.now(timezone.utc)
    store.append_logs(
        run.id,
        [
            LogLine(now, "stdout", "printed"),
            LogLine(now, "stderr", "fine", level=20, source="hello"),
            LogLine(now, "stderr", "careful", level=30, source="hello"),
        ],
    )
    every = client.get(f"/api/flow-runs/{run.id}/logs").json()["lines"]
    assert [(line["level"], line["source"]) for line in every] == [
        (None, ""),
        ("INFO", "hello"),
        ("WARNING", "hello"),
    ]
    warnings = client.get(f"/api/flow-runs/{run.id}/logs", params={"level": "warning"}).json()
    assert [line["text"] for line in warnings["lines"]] == ["careful"]
    bad = client.get(f"/api/flow-runs/{run.id}/logs", params={"level": "loud"})
    assert bad.status_code == 422
    assert error_of(bad)["field"] == "level"


def test_cancel_then_409_once_finished(client: ApiClient, hello: str, store: Store) -> None:
    run = store.create_flow_run("hello")
    response = client.post(f"/api/flow-runs/{run.id}/cancel")
    assert response.status_code == 200
    assert response.json()["state"] == "Cancelled"
    again = client.post(f"/api/flow-runs/{run.id}/cancel")
    assert again.status_code == 409
    assert store.get_flow_run(run.id).state is StateType.CANCELLED


def test_cancel_a_claimed_run_asks_its_agent(client: ApiClient, hello: str, store: Store) -> None:
    agent = store.register_agent("a1", ["etl"], None)
    run = store.create_flow_run("hello")
    store.claim_runs(agent.id, ["etl"], 1)
    store.set_state(run.id, StateChange(StateType.RUNNING, identifier="host:1"))
    response = client.post(f"/api/flow-runs/{run.id[:8]}/cancel")
    assert response.json()["state"] == "Cancelling"


# -- agents, work queues, plugins ------------------------------------------------------


def test_agents(client: ApiClient, store: Store) -> None:
    agent = store.register_agent("a1", ["etl"], 4, ["process"])
    (listed,) = client.get("/api/agents").json()
    assert listed["id"] == agent.id
    assert listed["name"] == "a1" and listed["queues"] == ["etl"] and listed["limit"] == 4
    assert listed["alive"] is True and listed["active_runs"] == 0


def test_work_queues_get_and_set_limit(client: ApiClient, hello: str) -> None:
    assert [q["name"] for q in client.get("/api/work-queues").json()] == ["etl"]
    response = client.put("/api/work-queues/etl", json={"limit": 2})
    assert response.status_code == 200
    assert response.json()["concurrency_limit"] == 2
    assert client.get("/api/work-queues/etl").json()["concurrency_limit"] == 2
    assert client.put("/api/work-queues/etl", json={"limit": None}).json()[
        "concurrency_limit"
    ] is None
    assert client.get("/api/work-queues/nope").status_code == 404


@pytest.mark.parametrize("body", [{"limit": -1}, {"limit": "two"}, {}])
def test_work_queue_bad_limit_is_422(client: ApiClient, hello: str, body: object) -> None:
    response = client.put("/api/work-queues/etl", json=body)
    assert response.status_code == 422
    assert error_of(response)["field"] == "limit"


def test_plugins_with_their_schemas(client: ApiClient) -> None:
    plugins = {p["name"]: p for p in client.get("/api/plugins").json()}
    process = plugins["process"]
    assert process["distribution"] == "shipway-process"
    assert "env" in process["schema"]["properties"]


# -- the schema ----------------------------------------------------------------------


def test_openapi_describes_every_route_the_app_serves(client: ApiClient) -> None:
    from starlette.routing import Route

    schema = client.get("/api/openapi.json").json()
    served = {
        (method.lower(), route.path)
        for route in client.app.routes
        if isinstance(route, Route) and route.path.startswith("/api/")
        for method in (route.methods or ()) - {"HEAD"}
    }
    described = {(method, path) for path, ops in schema["paths"].items() for method in ops}
    assert served == described
    create = schema["paths"]["/api/deployments/{name}/runs"]["post"]
    assert "201" in create["responses"]
    body = schema["components"]["schemas"]["RunInput"]
    assert set(body["properties"]) == {"parameters", "overrides", "scheduled_time"}


def test_unknown_path_is_json_404(client: ApiClient) -> None:
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert "/api/nothing-here" in str(error_of(response)["message"])


def test_every_answer_matches_the_model_its_route_declares(
    client: ApiClient, hello: str, store: Store
) -> None:
    from pydantic import TypeAdapter

    from shipway.server._api import API

    agent = store.register_agent("a1", ["etl"], None, ["process"])
    done = store.create_flow_run("hello")
    store.claim_runs(agent.id, ["etl"], 1)
    store.set_state(done.id, StateChange(StateType.RUNNING, identifier="host:1"))
    store.append_logs(done.id, [LogLine(datetime.now(timezone.utc), "stdout", "hi")])
    store.set_state(done.id, StateChange(StateType.COMPLETED, exit_code=0))
    waiting = store.create_flow_run("hello")
    bodies = {"POST": {}, "PUT": {"limit": 3}}
    checked = set()
    for endpoint in API:
        if endpoint.returns is None or endpoint.path.endswith("/stream"):
            continue
        run = waiting.id if endpoint.path.endswith("/cancel") else done.id
        path = endpoint.path.replace("{id}", run)
        path = path.replace("{name}", "etl" if "work-queues" in path else "hello")
        response = client.request(endpoint.method, path, json=bodies.get(endpoint.method))
        assert response.status_code == endpoint.status, (path, response.text)
        answer = response.json()
        assert answer, (path, "an empty answer checks nothing")
        TypeAdapter(endpoint.returns).validate_python(answer)  # extra keys are errors too
        checked.add(endpoint.path)
    assert len(checked) == len({e.path for e in API}) - 2  # all but the schema and the stream
