"""Flow-runner deployments end to end with the real console script and the real process
plugin: the deprecated form still runs (with a warning), ``shipway migrate`` rewrites a
Prefect 2.0-beta file, and the rewritten file loads and runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from _e2e_helpers import REPO, Shipway, write_file

CASES = REPO / "tests" / "core" / "migrate" / "cases"

# A seed-style file as a Prefect 2.0-beta user wrote it: the flow and its deployment
# spec in one file.
PREFECT_BETA = """
import os

from prefect import flow
from prefect.deployments import DeploymentSpec
from prefect.flow_runners import SubprocessFlowRunner


@flow
def greet(name="world"):
    print(f"{os.environ['GREETING']}, {name}!")


DeploymentSpec(
    name="old-example",
    flow=greet,
    parameters={"name": "migrated world"},
    # stream the run's output as it happens
    flow_runner=SubprocessFlowRunner(stream_output=True, env={"GREETING": "Hi"}),
)
"""

# The deprecated shipway spelling: still loads without migration.
DEPRECATED = """
from shipway import Deployment
from shipway.flow_runners import SubprocessFlowRunner

from flows.hello import hello_world

Deployment(name="deprecated", flow=hello_world, flow_runner=SubprocessFlowRunner())
"""


def test_prefect_beta_file_is_migrated_then_loads_and_runs(shipway: Shipway, project: Path) -> None:
    path = write_file(project, "old_deployments.py", PREFECT_BETA)

    before = shipway("deployment", "ls", "-f", "old_deployments.py")
    assert before.returncode == 2  # prefect is not installed: the old file cannot load
    assert "No module named 'prefect'" in before.stderr

    check = shipway("migrate", "--check", "old_deployments.py")
    assert check.returncode == 1, check.stderr
    assert "-from prefect.flow_runners import SubprocessFlowRunner" in check.stdout
    assert "Would rewrite old_deployments.py" in check.stderr
    assert "prefect" in path.read_text()  # --check wrote nothing

    migrated = shipway("migrate", "old_deployments.py")
    assert migrated.returncode == 0, migrated.stderr
    assert "+from shipway import Deployment, flow" in migrated.stdout
    assert "+from shipway.infrastructure import Process" in migrated.stdout
    assert "Rewrote old_deployments.py" in migrated.stderr
    text = path.read_text()
    assert "    # stream the run's output as it happens\n" in text
    assert '    infrastructure=Process(stream_output=True, env={"GREETING": "Hi"}),\n' in text

    listed = shipway("deployment", "ls", "-f", "old_deployments.py", "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert row["name"] == "old-example"
    assert row["infrastructure"] == "process"
    assert "Deprecat" not in listed.stderr

    run = shipway("run", "old-example", "-f", "old_deployments.py")
    assert run.returncode == 0, run.stderr
    assert "Hi, migrated world!" in run.stdout

    again = shipway("migrate", "--check", "old_deployments.py")
    assert again.returncode == 0
    assert "old_deployments.py: nothing to migrate" in again.stderr


def test_deprecated_flow_runner_runs_with_a_warning_until_migrated(
    shipway: Shipway, project: Path
) -> None:
    write_file(project, "deprecated.py", DEPRECATED)
    run = shipway("run", "deprecated", "-f", "deprecated.py")
    assert run.returncode == 0, run.stderr
    assert "Hello world!" in run.stdout
    assert (
        "DeprecationWarning: flow_runner=SubprocessFlowRunner(...) is deprecated: "
        "use infrastructure=Process() (from shipway.infrastructure import Process)."
    ) in run.stderr
    assert "deprecated.py:6: " in run.stderr  # the warning points at the Deployment line

    assert shipway("migrate", "--no-diff", "deprecated.py").returncode == 0
    run = shipway("run", "deprecated", "-f", "deprecated.py")
    assert run.returncode == 0, run.stderr
    assert "Hello world!" in run.stdout
    assert "DeprecationWarning" not in run.stderr


@pytest.mark.parametrize(
    "case", ["seed_subprocess_spec", "seed_docker_deployment", "seed_kubernetes_deployment"]
)
def test_every_seed_case_migrates_through_the_console_script(
    shipway: Shipway, project: Path, case: str
) -> None:
    target = project / f"{case}.py"
    shutil.copyfile(CASES / f"{case}.py.before", target)
    result = shipway("migrate", target.name)
    assert result.returncode == 0, result.stderr
    assert target.read_text() == (CASES / f"{case}.py.after").read_text()


def test_migrated_docker_deployment_loads_by_type_name(shipway: Shipway, project: Path) -> None:
    """A converted DockerFlowRunner is a ``docker-container`` infrastructure; listing
    needs the type name only (the plugin is loaded when it runs)."""
    write_file(
        project,
        "containers.py",
        """
        from shipway import Deployment
        from shipway.flow_runners import DockerFlowRunner, ImagePullPolicy

        from flows.hello import hello_world

        Deployment(
            name="in-a-container",
            flow=hello_world,
            flow_runner=DockerFlowRunner(image="f:1", image_pull_policy=ImagePullPolicy.NEVER),
        )
        """,
    )
    listed = shipway("deployment", "ls", "-f", "containers.py", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)[0]["infrastructure"] == "docker-container"
    assert "use infrastructure=DockerContainer(image='f:1', image_pull_policy='never')" in (
        listed.stderr
    )
