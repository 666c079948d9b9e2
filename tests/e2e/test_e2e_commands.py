"""``deployment ls|inspect``, ``infra preview|schema``, ``--version`` and ``--help``."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from _e2e_helpers import Shipway, write_file

import shipway as shipway_package

SECRETS_YAML = """
infrastructure:
  with-secrets:
    type: process
    env: {DB_PASSWORD: hunter2, API_TOKEN: tok-123456, REGION: eu-west}
deployments:
  - name: secretive
    flow: flows/hello.py:hello_world
    infrastructure: with-secrets
"""


def test_deployment_ls_table(shipway: Shipway) -> None:
    result = shipway("deployment", "ls", "-f", "shipway.yaml")

    assert result.returncode == 0, result.stderr
    assert "example " in result.stdout
    assert "example-debug" in result.stdout
    assert "flows/hello.py:hello_world" in result.stdout
    assert "local-debug" in result.stdout


def test_deployment_ls_json_for_both_file_forms(shipway: Shipway) -> None:
    from_yaml = json.loads(shipway("deployment", "ls", "--json", "-f", "shipway.yaml").stdout)
    from_python = json.loads(shipway("deployment", "ls", "--json", "-f", "deployments.py").stdout)

    assert [(d["name"], d["flow"], d["infrastructure"]) for d in from_yaml] == [
        ("example", "flows/hello.py:hello_world", "process"),
        ("example-debug", "flows/hello.py:hello_world", "local-debug"),
    ]
    assert [(d["name"], d["flow"], d["infrastructure"]) for d in from_python] == [
        ("example", "flows.hello:hello_world", "process"),
    ]


def test_deployment_inspect_json_shows_the_resolved_infrastructure(
    shipway: Shipway, project: Path
) -> None:
    result = shipway("deployment", "inspect", "example-debug", "--json")

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["name"] == "example-debug"
    assert data["flow"] == "flows/hello.py:hello_world"
    assert data["parameters"] == {"name": "debug"}
    assert Path(data["working_dir"]) == project.resolve()
    assert data["infrastructure_source"] == "local-debug"
    assert data["infrastructure"]["type"] == "process"
    assert data["infrastructure"]["env"] == {"LOG_LEVEL": "debug", "EXTRA": "1"}


def test_deployment_inspect_yaml_by_default(shipway: Shipway) -> None:
    result = shipway("deployment", "inspect", "example")

    assert result.returncode == 0, result.stderr
    data = yaml.safe_load(result.stdout)
    assert data["name"] == "example"
    assert data["infrastructure"]["type"] == "process"


def test_secrets_are_masked_in_inspect_and_preview(shipway: Shipway, project: Path) -> None:
    write_file(project, "secrets.yaml", SECRETS_YAML)

    inspected = shipway("deployment", "inspect", "secretive", "-f", "secrets.yaml", "--json")
    previewed = shipway("infra", "preview", "secretive", "-f", "secrets.yaml")

    for result in (inspected, previewed):
        assert result.returncode == 0, result.stderr
        assert "hunter2" not in result.stdout + result.stderr
        assert "tok-123456" not in result.stdout + result.stderr
        assert "DB_PASSWORD" in result.stdout
        assert "eu-west" in result.stdout  # not secret: shown


def test_infra_preview_shows_what_would_run(shipway: Shipway, project: Path) -> None:
    result = shipway(
        "infra", "preview", "example-debug", "-p", "name=preview", "--override", "env.RETRIES=2"
    )

    assert result.returncode == 0, result.stderr
    assert f"cd {project.resolve()}" in result.stdout
    assert "LOG_LEVEL=debug" in result.stdout
    assert "RETRIES=2" in result.stdout
    assert "-m shipway.engine" in result.stdout
    assert '"name":"preview"' in result.stdout
    assert result.stderr == ""


def test_infra_preview_starts_nothing(shipway: Shipway, project: Path) -> None:
    write_file(
        project,
        "flows/marker.py",
        """
        from pathlib import Path
        from shipway import flow

        @flow
        def marker():
            Path("ran").touch()
        """,
    )
    write_file(
        project,
        "marker.yaml",
        "deployments:\n  - name: marker\n    flow: flows/marker.py:marker\n",
    )

    result = shipway("infra", "preview", "marker", "-f", "marker.yaml")

    assert result.returncode == 0, result.stderr
    assert not (project / "ran").exists()


def test_infra_schema_table(shipway: Shipway) -> None:
    result = shipway("infra", "schema", "process")

    assert result.returncode == 0, result.stderr
    assert "shipway_process" in result.stdout
    for field in ("working_dir", "stream_output", "python", "virtualenv", "conda_env", "env"):
        assert field in result.stdout


def test_infra_schema_json(shipway: Shipway) -> None:
    result = shipway("infra", "schema", "process", "--json")

    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert {"type", "env", "working_dir", "python", "virtualenv", "conda_env"} <= set(
        schema["properties"]
    )


def test_version(shipway: Shipway) -> None:
    long = shipway("--version")
    short = shipway("-V")

    assert long.returncode == 0
    assert long.stdout.strip() == f"shipway, version {shipway_package.__version__}"
    assert short.stdout == long.stdout


def test_help_lists_the_commands(shipway: Shipway) -> None:
    result = shipway("--help")

    assert result.returncode == 0
    for command in ("run", "deployment", "infra", "plugins"):
        assert f"  {command} " in result.stdout
    assert "--debug" in result.stdout
    assert "--version" in result.stdout


def test_every_command_has_help_with_debug(shipway: Shipway) -> None:
    for command in (
        ["run"],
        ["deployment", "ls"],
        ["deployment", "inspect"],
        ["infra", "preview"],
        ["infra", "schema"],
        ["plugins"],
    ):
        result = shipway(*command, "--help")
        assert result.returncode == 0, (command, result.stderr)
        assert "--debug" in result.stdout, command
