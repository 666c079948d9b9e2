"""``shipway run`` end to end: the real console script, the real process plugin."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from _e2e_helpers import Shipway, write_file

RUNNING_LINE = re.compile(r"running on process as (?P<host>\S+):(?P<pid>\d+)")


@pytest.fixture
def more(project: Path) -> Path:
    """Extra flows and a deployment file for them, beside the examples."""
    write_file(
        project,
        "flows/extra.py",
        """
        import json, os
        from shipway import flow

        @flow
        def show_env():
            print(json.dumps({name: os.environ.get(name)
                              for name in ("FOO", "RETRIES", "RATIO", "LOG_LEVEL")}))

        @flow
        def failing(reason: str = "boom"):
            helper(reason)

        def helper(reason):
            raise ValueError(f"flow failed: {reason}")

        @flow
        def count_to(n: int):
            print(sum(range(n + 1)))
        """,
    )
    return write_file(
        project,
        "more.yaml",
        """
        deployments:
          - name: env
            flow: flows/extra.py:show_env
            infrastructure: {type: process, env: {LOG_LEVEL: info}}
          - name: failing
            flow: flows/extra.py:failing
          - name: count
            flow: flows/extra.py:count_to
            parameters: {n: 3}
        """,
    )


def test_run_example_prints_hello_world_and_exits_0(shipway: Shipway) -> None:
    result = shipway("run", "example")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello world!\n"
    running = RUNNING_LINE.search(result.stderr)
    assert running is not None, result.stderr
    assert running["host"] == socket.gethostname()
    assert "Completed" in result.stderr
    assert "Traceback" not in result.stderr


def test_param_reaches_the_flow(shipway: Shipway) -> None:
    result = shipway("run", "example", "-p", "name=X")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello X!\n"


def test_params_json_reaches_the_flow_and_p_wins_over_it(shipway: Shipway) -> None:
    from_json = shipway("run", "example", "--params", '{"name": "from json"}')
    both = shipway("run", "example", "--params", '{"name": "from json"}', "-p", "name=from p")

    assert from_json.stdout == "Hello from json!\n"
    assert both.stdout == "Hello from p!\n"


def test_deployment_parameters_and_block_env_apply(shipway: Shipway) -> None:
    result = shipway("run", "example-debug")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello debug!\n"


def test_params_are_coerced_to_the_annotated_type(shipway: Shipway, more: Path) -> None:
    default = shipway("run", "count", "-f", "more.yaml")
    from_p = shipway("run", "count", "-f", "more.yaml", "-p", "n=10")

    assert default.stdout == "6\n"
    assert from_p.stdout == "55\n", from_p.stderr


def test_override_env_reaches_the_flow_as_exact_strings(shipway: Shipway, more: Path) -> None:
    result = shipway(
        "run",
        "env",
        "-f",
        "more.yaml",
        "--override",
        "env.FOO=bar",
        "--override",
        "env.RETRIES=2",
        "--override",
        "env.RATIO=1.50",
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "FOO": "bar",
        "RETRIES": "2",
        "RATIO": "1.50",
        "LOG_LEVEL": "info",  # the deployment's own env is kept: env merges key by key
    }


def test_override_env_null_unsets_a_variable(shipway: Shipway, more: Path) -> None:
    result = shipway(
        "run", "env", "-f", "more.yaml", "--override", "env.FOO=null", env={"FOO": "inherited"}
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["FOO"] is None


def test_override_working_dir(shipway: Shipway, more: Path, tmp_path: Path) -> None:
    write_file(
        more.parent,
        "flows/cwd.py",
        """
        import os
        from shipway import flow

        @flow
        def cwd():
            print(os.getcwd())
        """,
    )
    write_file(
        more.parent,
        "cwd.yaml",
        """
        deployments:
          - name: cwd
            flow: flows/cwd.py:cwd
        """,
    )

    default = shipway("run", "cwd", "-f", "cwd.yaml")
    moved = shipway("run", "cwd", "-f", "cwd.yaml", "--override", f"working_dir={tmp_path}")

    assert Path(default.stdout.strip()) == more.parent.resolve()
    assert Path(moved.stdout.strip()) == tmp_path.resolve(), moved.stderr


def test_python_deployment_file(shipway: Shipway) -> None:
    result = shipway("run", "example", "-f", "deployments.py", "-p", "name=python file")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello python file!\n"


def test_python_deployment_file_from_another_directory(shipway: Shipway, project: Path) -> None:
    result = shipway("run", "example", "-f", str(project / "deployments.py"), cwd=project.parent)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello world!\n"


def test_failing_flow_exits_1_and_shows_the_users_traceback(shipway: Shipway, more: Path) -> None:
    result = shipway("run", "failing", "-f", "more.yaml", "-p", "reason=disk full")

    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "flows/extra.py" in result.stderr
    assert "in helper" in result.stderr
    assert "ValueError: flow failed: disk full" in result.stderr
    assert "Failed" in result.stderr
    assert "shipway/engine" not in result.stderr  # the user's frames, not the engine's


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["-p", "bogus=1"], "unknown parameter 'bogus'"),
        (["-p", "n=many"], "parameter 'n'"),
    ],
)
def test_parameters_not_matching_exit_3_with_one_reason(
    shipway: Shipway, more: Path, args: list[str], reason: str
) -> None:
    result = shipway("run", "count", "-f", "more.yaml", *args)

    assert result.returncode == 3
    assert reason in result.stderr
    assert "could not start" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
