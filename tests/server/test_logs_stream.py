"""The live log stream (server-sent events) against a real uvicorn server and a real
agent: lines arrive while the flow runs, the stream ends with the run, and a reconnect
goes on after the last event it saw."""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _agent_helpers import Agents, apply, wait_for
from _server_client import Event, live_server, read_events
from shipway.server import ServerSettings, create_app
from shipway.store import Store

TICKER = """
    import time
    from shipway import flow

    @flow
    def ticker(count: int = 4, interval: float = 0.4) -> None:
        for i in range(count):
            print(f"tick {i} {time.time():.6f}", flush=True)
            time.sleep(interval)
"""


@pytest.fixture
def ticker(store: Store, project: Path) -> str:
    (project / "flows" / "ticker.py").write_text(textwrap.dedent(TICKER).lstrip())
    apply(store, "ticker", project)
    return "ticker"


@pytest.fixture
def http(store_url: str, shipway_home: Path) -> Iterator[httpx.Client]:
    app = create_app(ServerSettings(store_url=store_url))
    with live_server(app) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield client


def stream(http: httpx.Client, run_id: str, **headers: str) -> list[tuple[Event, float]]:
    """Every event of the run's stream, with when it arrived, until ``end``."""
    received = []
    with http.stream("GET", f"/api/flow-runs/{run_id}/logs/stream", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for event in read_events(response.iter_lines()):
            received.append((event, time.time()))
            if event.event == "end":
                break
    return received


def ticks(events: list[tuple[Event, float]]) -> list[tuple[str, float, float]]:
    """(text, printed at, received at) of each ``tick`` line."""
    found = []
    for event, at in events:
        if event.event == "log":
            text = json.loads(event.data)["text"]
            if text.startswith("tick "):
                found.append((text.rsplit(" ", 1)[0], float(text.rsplit(" ", 1)[1]), at))
    return found


def test_lines_arrive_live_and_the_stream_ends_with_the_run(
    http: httpx.Client, agents: Agents, ticker: str, store: Store
) -> None:
    agents.start()
    run = http.post("/api/deployments/ticker/runs", json={}).json()
    events = stream(http, run["id"])
    seen = ticks(events)
    assert [text for text, _, _ in seen] == [f"tick {i}" for i in range(4)]
    assert json.loads(events[-1][0].data) == {"state": "Completed"}
    first_received = seen[0][2]
    last_printed = seen[-1][1]
    assert first_received < last_printed, "the first line came only once the run had ended"
    ids = [int(e.id) for e, _ in events if e.id is not None]
    assert ids == sorted(ids) and len(ids) == len(set(ids))

    # A finished run's stream sends what is left after Last-Event-ID, then ends.
    again = stream(http, run["id"], **{"last-event-id": str(ids[1])})
    assert [int(e.id) for e, _ in again if e.id is not None] == ids[2:]
    assert again[-1][0].event == "end"


def test_stream_of_an_unknown_run_is_404(http: httpx.Client) -> None:
    response = http.get("/api/flow-runs/0000000000/logs/stream")
    assert response.status_code == 404
    assert response.json()["error"]["status"] == 404


def test_a_cancelled_run_ends_the_stream(http: httpx.Client, ticker: str, store: Store) -> None:
    run = http.post("/api/deployments/ticker/runs", json={}).json()
    wait_for(lambda: store.get_flow_run(run["id"]) is not None, what="the run")
    assert http.post(f"/api/flow-runs/{run['id']}/cancel").json()["state"] == "Cancelled"
    events = stream(http, run["id"])
    assert json.loads(events[-1][0].data) == {"state": "Cancelled"}
