"""No response of the API holds a secret in clear: a deployment planted with secrets of
every kind (tests/_planted_secrets.py), a run created through the API with a secret
override, run by a real agent whose flow prints them all; then every GET route of the
app's route table (the API's and the web UI's pages) is read, and the run's log stream
too."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from starlette.routing import Mount, Route

from _agent_helpers import Agents, wait_for
from _cli import shipway_main
from _planted_secrets import PLANTED, RUN_TOKEN
from _server_client import ApiClient
from shipway.store import Store


def test_no_response_holds_a_planted_secret(
    client: ApiClient,
    store: Store,
    agents: Agents,
    leaky_project: Path,
) -> None:
    applied = CliRunner().invoke(shipway_main, ["deployment", "apply"])
    assert applied.exit_code == 0, applied.output
    agents.start()

    bodies: dict[str, str] = {}
    created = client.post(
        "/api/deployments/leaky/runs", json={"overrides": {"env": {"RUN_TOKEN": RUN_TOKEN}}}
    )
    assert created.status_code == 201, created.text
    bodies["POST /api/deployments/leaky/runs"] = created.text
    run_id = created.json()["id"]
    wait_for(lambda: store.get_flow_run(run_id).state.is_final, what="the run")
    assert store.get_flow_run(run_id).state.value == "Completed"

    for route in client.app.routes:
        if isinstance(route, Mount):  # the web UI's static files
            continue
        assert isinstance(route, Route)
        if "GET" not in (route.methods or ()) or route.path == "/login":  # open: redirects
            continue
        name = "default" if "work-queues" in route.path else "leaky"
        path = route.path.replace("{id}", run_id).replace("{name}", name)
        assert not re.search(r"{\w+}", path), f"a new path parameter to fill: {path}"
        response = client.get(path)
        assert response.status_code == 200, (path, response.text)
        bodies[f"GET {path}"] = response.text
    logs = bodies[f"GET /api/flow-runs/{run_id}/logs"]
    assert "DB_PASSWORD is ********" in logs and "RUN_TOKEN is ********" in logs
    assert "CLIENT_SECRET is ********" in logs
    assert "RUN_TOKEN is ********" in bodies[f"GET /api/flow-runs/{run_id}/logs/stream"]
    cancelled = client.post(f"/api/flow-runs/{run_id}/cancel")  # 409, and its message
    bodies["POST cancel"] = cancelled.text
    leaks = [
        f"{what} answers {secret!r}:\n{body}"
        for what, body in bodies.items()
        for secret in PLANTED
        if secret in body
    ]
    assert not leaks, "\n\n".join(leaks)
