"""What the sandbox adds to a local process: the allow-list and the time limit."""

import json

from shipway_sandbox import Sandbox


def echoed(finished):
    """What the standard `echo` flow printed: its parameters and one variable's value."""
    for line in finished.output.text("stdout").splitlines():
        if line.startswith("shipway-echo:"):
            return json.loads(line.partition(":")[2])
    raise AssertionError(f"the echo flow printed nothing: {finished.output.text()}")


def test_variables_outside_the_allow_list_stay_out(shipway_project, shipway_run, monkeypatch):
    monkeypatch.setenv("API_TOKEN", "s3cret")
    job = shipway_project.jobs.echo("hi", variable="API_TOKEN")
    finished = shipway_run(Sandbox(), job)
    assert finished.result.status_code == 0
    assert echoed(finished)["value"] is None


def test_allowed_variables_and_env_come_in(shipway_project, shipway_run, monkeypatch):
    monkeypatch.setenv("API_TOKEN", "s3cret")
    sandbox = Sandbox(allow_env=["PATH", "API_TOKEN"], env={"REGION": "eu"})
    for variable, value in [("API_TOKEN", "s3cret"), ("REGION", "eu")]:
        finished = shipway_run(sandbox, shipway_project.jobs.echo("hi", variable=variable))
        assert echoed(finished)["value"] == value


def test_the_time_limit_stops_the_run(shipway_project, shipway_run):
    finished = shipway_run(Sandbox(timeout_seconds=1), shipway_project.jobs.sleeper())
    assert finished.result.status_code != 0
    assert finished.result.reason == "time limit of 1 s reached"


def test_preview_starts_from_an_empty_environment():
    preview = Sandbox(env={"API_TOKEN": "s3cret"}).preview()
    assert "env -i" in preview
    assert "API_TOKEN='********'" in preview
