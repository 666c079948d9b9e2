"""The web UI's pages through httpx against the app, on SQLite and PostgreSQL (no
browser: tests/server/ui has those): each page renders from the store, the Run form's
fields come from the flow's signature, the runs page filters and pages like the API, and
the dashboard's chart counts runs per hour and state."""

from __future__ import annotations

import re
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from _server_client import ApiClient
from _store_helpers import spec
from shipway.server.ui import PAGE_PATHS
from shipway.server.ui._parameters import ParameterField, parameter_fields, parse_parameters
from shipway.states import StateType
from shipway.store import StateChange, Store

FLOW = """
from shipway import flow

@flow
def report(team: str, weeks: int = 1, ratio: float = 0.5, *, dry_run: bool = False,
           tags: list[str] = ["a"], when=None) -> None:
    pass
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "report.py").write_text(textwrap.dedent(FLOW))
    return tmp_path


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert found
    return found.group(1)


def test_every_page_renders(client: ApiClient, store: Store) -> None:
    store.apply_deployment(spec("hello"))
    run = store.create_flow_run("hello")
    for path in [*PAGE_PATHS, "/deployments/hello", f"/flow-runs/{run.id}"]:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text)
        assert response.headers["content-type"].startswith("text/html")
    plugins = client.get("/plugins").text  # the table `shipway infra schema process` prints
    assert "working_dir" in plugins and "map[string, string | SecretRef | null]" in plugins
    assert client.get("/static/shipway.css").status_code == 200
    assert client.get("/static/logs.js").status_code == 200


def test_missing_things_are_a_page_not_json(client: ApiClient) -> None:
    for path in ("/deployments/nope", "/flow-runs/00000000"):
        response = client.get(path)
        assert response.status_code == 404
        assert "<h1>Not found</h1>" in response.text


def test_the_run_form_follows_the_signature(project: Path) -> None:
    fields = parameter_fields("flows/report.py:report", str(project), {"weeks": 4})
    assert [(f.name, f.kind, f.required, f.default) for f in fields] == [
        ("team", "string", True, None),
        ("weeks", "integer", False, 4),  # the deployment's default wins
        ("ratio", "number", False, 0.5),
        ("dry_run", "boolean", False, False),
        ("tags", "json", False, ["a"]),
        ("when", "json", False, None),
    ]


def test_without_the_flow_file_the_form_offers_the_defaults(tmp_path: Path) -> None:
    fields = parameter_fields("pkg.module:report", str(tmp_path), {"n": 3, "who": "x"})
    assert [(f.name, f.kind) for f in fields] == [("n", "integer"), ("who", "string")]
    assert parameter_fields("flows/missing.py:f", str(tmp_path), {}) == []


def test_typed_values_are_converted_and_wrong_ones_named() -> None:
    fields = [
        ParameterField("team", "string", "str", required=True),
        ParameterField("weeks", "integer", "int", required=False, default=1),
        ParameterField("tags", "json", "list[str]", required=False),
        ParameterField("dry_run", "boolean", "bool", required=False),
    ]
    values, errors = parse_parameters(fields, {"team": "data", "weeks": "3", "tags": '["x"]'})
    assert values == {"team": "data", "weeks": 3, "tags": ["x"], "dry_run": False}
    assert errors == {}
    _, errors = parse_parameters(fields, {"weeks": "three", "tags": "[", "dry_run": "true"})
    assert errors["team"] == "required"
    assert errors["weeks"] == "must be a whole number, not 'three'"
    assert errors["tags"].startswith("must be JSON")


def test_a_run_from_the_form_carries_its_parameters(
    client: ApiClient, store: Store, project: Path
) -> None:
    store.apply_deployment(
        spec("report", entrypoint="flows/report.py:report", working_dir=str(project), parameters={})
    )
    page = client.get("/deployments/report").text
    assert 'id="param-team"' in page and 'id="param-dry_run"' in page
    form = {"csrf_token": _csrf(page), "team": "data", "weeks": "2", "dry_run": "true"}
    created = client.post("/deployments/report/run", data=form)
    assert created.status_code == 303
    run = store.get_flow_run(created.headers["location"].rsplit("/", 1)[1])
    assert run.parameters["team"] == "data" and run.parameters["weeks"] == 2
    assert run.parameters["dry_run"] is True and "ratio" not in run.parameters
    refused = client.post("/deployments/report/run", data={**form, "weeks": "x"})
    assert refused.status_code == 422
    assert "must be a whole number" in refused.text
    assert store.count_flow_runs(deployment="report") == 1


def test_the_runs_page_filters_and_pages_like_the_api(client: ApiClient, store: Store) -> None:
    store.apply_deployment(spec("hello"))
    now = datetime.now(timezone.utc)
    ids = [
        store.create_flow_run("hello", scheduled_time=now - timedelta(minutes=n)).id
        for n in range(55)
    ]
    store.request_cancellation(ids[3])
    first = client.get("/flow-runs").text
    assert first.count('href="/flow-runs/') == 50
    older = re.search(r'rel="next" href="([^"]+)"', first)
    assert older
    second = client.get(older.group(1).replace("&amp;", "&")).text
    shown = re.findall(r'href="/flow-runs/([0-9a-f-]{36})"', first + second)
    assert shown == ids  # newest first, each once, across both pages
    cancelled = client.get("/flow-runs?state=Cancelled").text
    assert re.findall(r'href="/flow-runs/([0-9a-f-]{36})"', cancelled) == [ids[3]]
    wrong = client.get("/flow-runs?state=nope")
    assert wrong.status_code == 400 and "not a state" in wrong.text


def test_the_chart_counts_runs_per_hour_and_state(store: Store) -> None:
    store.apply_deployment(spec("hello"))
    since = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    since -= timedelta(hours=3)
    for hour, minutes in ((0, 10), (0, 50), (2, 5)):
        store.create_flow_run(
            "hello", scheduled_time=since + timedelta(hours=hour, minutes=minutes)
        )
    failed = store.create_flow_run("hello", scheduled_time=since + timedelta(hours=2, minutes=9))
    store.set_state(failed.id, StateChange(StateType.CANCELLED))
    store.create_flow_run("hello", scheduled_time=since - timedelta(minutes=1))  # before
    counts = store.count_runs_per_hour(since, 3)
    assert counts == {StateType.SCHEDULED: [2, 0, 1], StateType.CANCELLED: [0, 0, 1]}


def test_the_work_queue_limit_is_edited_from_its_page(client: ApiClient, store: Store) -> None:
    store.apply_deployment(spec("hello", work_queue="etl"))
    token = _csrf(client.get("/work-queues").text)
    assert (
        client.post("/work-queues/etl", data={"csrf_token": token, "limit": "2"}).status_code == 303
    )
    assert {q.name: q.concurrency_limit for q in store.list_work_queues()}["etl"] == 2
    refused = client.post("/work-queues/etl", data={"csrf_token": token, "limit": "-1"})
    assert refused.status_code == 422 and "whole number" in refused.text
    assert (
        client.post("/work-queues/etl", data={"csrf_token": token, "limit": ""}).status_code == 303
    )
    assert {q.name: q.concurrency_limit for q in store.list_work_queues()}["etl"] is None


def test_run_again_keeps_parameters_and_overrides_secrets_included(
    client: ApiClient, store: Store
) -> None:
    store.apply_deployment(spec("hello"))
    first = client.post(
        "/api/deployments/hello/runs",
        json={"parameters": {"who": "you"}, "overrides": {"env": {"API_TOKEN": "again-s3cret"}}},
    ).json()
    page = client.get(f"/flow-runs/{first['id']}").text
    assert "again-s3cret" not in page
    again = client.post(f"/flow-runs/{first['id']}/run-again", data={"csrf_token": _csrf(page)})
    assert again.status_code == 303
    old = store.get_flow_run(first["id"])
    new = store.get_flow_run(again.headers["location"].rsplit("/", 1)[1])
    assert new.id != old.id and new.parameters == old.parameters
    assert new.overrides == old.overrides  # the secret as it was, kept sealed in the store
    shown = client.get(again.headers["location"]).text
    assert "API_TOKEN" in shown and "again-s3cret" not in shown
