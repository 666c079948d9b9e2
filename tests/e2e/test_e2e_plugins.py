"""``shipway plugins``: what is installed and whether it loads, as a table and as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from _e2e_helpers import Shipway

import shipway_process


def _by_name(output: str) -> dict[str, dict[str, Any]]:
    rows = json.loads(output)
    assert isinstance(rows, list)
    return {row["name"]: row for row in rows}


def test_plugins_table_lists_process_as_loaded(shipway: Shipway) -> None:
    result = shipway("plugins")

    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if " process " in line)
    for cell in (
        "infrastructure",
        "shipway-process",
        shipway_process.__version__,
        "shipway_process.plugin",
        "loaded",
    ):
        assert cell in row, row


def test_piped_tables_keep_every_row_on_one_line_and_narrow_ones_cut_nothing(
    shipway: Shipway,
) -> None:
    piped = shipway("plugins", env={"COLUMNS": None})  # no terminal, no width asked for
    narrow = shipway("plugins", env={"COLUMNS": "40"})

    assert piped.returncode == narrow.returncode == 0, piped.stderr + narrow.stderr
    row = next(line for line in piped.stdout.splitlines() if " process " in line)
    assert "shipway-process" in row and "shipway_process.plugin" in row, piped.stdout
    assert "…" not in piped.stdout + narrow.stdout
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 40, narrow.stdout


def test_plugins_json(shipway: Shipway) -> None:
    result = shipway("plugins", "--json")

    assert result.returncode == 0, result.stderr
    process = _by_name(result.stdout)["process"]
    assert process["kind"] == "infrastructure"
    assert process["distribution"] == "shipway-process"
    assert process["version"] == shipway_process.__version__
    assert process["module"] == "shipway_process.plugin"
    assert process["status"] == "loaded"
    assert process["error"] is None
    assert process["class_name"] == "Process"
    assert "shipway_infrastructure_types" in process["hooks"]


def test_a_broken_plugin_is_reported_beside_the_healthy_ones(
    shipway: Shipway, broken_plugin_site: Path
) -> None:
    env = {"PYTHONPATH": str(broken_plugin_site)}

    as_json = shipway("plugins", "--json", env=env)
    as_table = shipway("plugins", env=env)

    assert as_json.returncode == 0, as_json.stderr
    plugins = _by_name(as_json.stdout)
    assert plugins["broken"]["status"] == "failed"
    assert plugins["broken"]["error"] == "RuntimeError: broken on purpose"
    assert plugins["broken"]["distribution"] == "broken-plugin"
    assert plugins["broken"]["version"] == "0.1"
    assert plugins["broken"]["module"] == "broken_plugin"
    assert plugins["process"]["status"] == "loaded"
    assert as_table.returncode == 0, as_table.stderr
    assert "failed: RuntimeError: broken on purpose" in as_table.stdout
    assert "Traceback" not in as_json.stderr + as_table.stderr


def test_a_broken_plugin_does_not_break_runs_on_another_one(
    shipway: Shipway, broken_plugin_site: Path
) -> None:
    result = shipway("run", "example", env={"PYTHONPATH": str(broken_plugin_site)})

    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello world!\n"


def test_blocked_plugin_is_listed_as_blocked(shipway: Shipway) -> None:
    env = {"SHIPWAY_PLUGINS_BLOCK": "process"}

    as_json = shipway("plugins", "--json", env=env)
    as_table = shipway("plugins", env=env)

    process = _by_name(as_json.stdout)["process"]
    assert process["status"] == "blocked"
    assert "SHIPWAY_PLUGINS_BLOCK" in process["error"]
    assert "blocked" in as_table.stdout


def test_a_blocked_plugin_cannot_run_and_says_why(shipway: Shipway) -> None:
    result = shipway("run", "example", env={"SHIPWAY_PLUGINS_BLOCK": "shipway-process"})

    assert result.returncode != 0
    assert "SHIPWAY_PLUGINS_BLOCK" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
