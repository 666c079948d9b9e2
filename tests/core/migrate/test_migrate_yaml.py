"""``shipway migrate`` on Prefect's YAML: a ``deployment.yaml`` from ``prefect deployment
build`` and a ``prefect.yaml`` project file become the directory's ``shipway.yaml``."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from _cli import shipway_main
from shipway.deployments import load_deployment_file

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("libcst") is None,
    reason="shipway migrate needs libcst: pip install 'shipway[migrate]'",
)

BUILT = """
name: nightly
description: null
version: null
work_queue_name: default
work_pool_name: my-pool
tags: [etl]
parameters: {day: monday}
schedule:
  rrule: FREQ=DAILY
is_schedule_active: true
infra_overrides: {env.MODE: fast, stream_output: false}
infrastructure:
  type: docker-container
  env: {}
  image: acme/etl:7
  image_pull_policy: IF_NOT_PRESENT
  image_registry: null
  auto_remove: true
  _block_document_name: anonymous-0a1b
  _is_anonymous: true
  _block_type_slug: docker-container
flow_name: etl
storage: null
path: null
entrypoint: flows/etl.py:etl
"""

PROJECT = """
name: proj
prefect-version: 2.14.0
deployments:
- name: nightly
  entrypoint: flows/etl.py:etl
  schedules:
  - cron: 0 1 * * *
  - cron: 0 13 * * *
  work_pool:
    name: k8s-pool
    job_variables: {namespace: etl, image_pull_policy: Always, env: {N: 1}}
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def migrate(*args: str) -> Result:
    return CliRunner().invoke(shipway_main, ["migrate", "--no-diff", *args])


def shipway_yaml(directory: Path) -> dict[str, Any]:
    return dict(yaml.safe_load((directory / "shipway.yaml").read_text()))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(
        tmp_path, "flows/etl.py", "from shipway import flow\n\n@flow\ndef etl(day='x'):\n    pass\n"
    )
    return tmp_path


def test_a_built_deployment_becomes_a_shipway_yaml(project: Path) -> None:
    write(project, "deployment.yaml", BUILT)
    checked = migrate("--check", str(project))
    assert checked.exit_code == 1
    assert not (project / "shipway.yaml").exists()  # --check writes nothing

    done = migrate(str(project))
    assert done.exit_code == 0, done.output
    assert f"Wrote {project}/shipway.yaml from {project}/deployment.yaml" in done.stderr
    assert shipway_yaml(project)["deployments"] == [
        {
            "name": "nightly",
            "flow": "flows/etl.py:etl",
            "parameters": {"day": "monday"},
            "tags": ["etl"],
            "infrastructure": {
                "type": "docker-container",
                "image": "acme/etl:7",
                "image_pull_policy": "if_not_present",
                "auto_remove": True,
            },
            "overrides": {"env": {"MODE": "fast"}, "stream_output": False},
        }
    ]
    assert "deployment.yaml:5: note: shipway has no work pools" in done.stderr
    assert (
        "deployment.yaml:8: note: this schedule (an rrule) has no shipway equivalent" in done.stderr
    )
    assert load_deployment_file(project / "shipway.yaml").get("nightly").flow == "flows/etl.py:etl"
    again = migrate("--check", str(project))
    assert again.exit_code == 0  # the shipway.yaml is up to date
    assert "shipway.yaml is up to date" in again.stderr


def test_a_project_file_turns_work_pools_into_blocks(project: Path) -> None:
    write(project, "prefect.yaml", PROJECT)
    done = migrate(str(project / "prefect.yaml"))
    assert done.exit_code == 0, done.output
    data = shipway_yaml(project)
    assert data["infrastructure"] == {"k8s-pool": {"type": "kubernetes-job"}}
    assert data["deployments"] == [
        {
            "name": "nightly",
            "flow": "flows/etl.py:etl",
            "schedule": {"cron": "0 1 * * *"},
            "infrastructure": "k8s-pool",
            "work_queue": "k8s-pool",
            "overrides": {"namespace": "etl", "image_pull_policy": "Always", "env": {"N": "1"}},
        }
    ]
    assert "prefect.yaml:6: note: shipway deployments take one schedule" in done.stderr
    assert "work pool 'k8s-pool' became the infrastructure block 'k8s-pool'" in done.stderr


def test_the_files_of_one_directory_share_one_shipway_yaml(project: Path) -> None:
    write(project, "a-deployment.yaml", BUILT)
    write(project, "prefect.yaml", PROJECT)
    done = migrate(str(project))
    assert done.exit_code == 0, done.output
    names = [d["name"] for d in shipway_yaml(project)["deployments"]]
    assert names == ["nightly", "nightly-2"]
    assert "deployment 'nightly' is named 'nightly-2'" in done.stderr


def test_a_users_own_shipway_yaml_is_never_overwritten(project: Path) -> None:
    write(project, "deployment.yaml", BUILT)
    mine = write(project, "shipway.yaml", "deployments: []\n")
    done = migrate(str(project))
    assert done.exit_code == 2
    assert "shipway.yaml exists and was not written by shipway migrate" in done.stderr
    assert mine.read_text() == "deployments: []\n"


def test_a_yaml_file_that_is_not_prefects_is_an_error(project: Path) -> None:
    other = write(project, "settings.yaml", "debug: true\n")
    done = migrate(str(other))
    assert done.exit_code == 2
    assert "settings.yaml: not a Prefect deployment file" in done.stderr


def test_a_directory_is_searched_for_prefects_file_names_only(project: Path) -> None:
    write(project, "deployment.yaml", BUILT)
    write(project, "settings.yaml", "debug: true\n")  # not a Prefect name: not read
    assert migrate(str(project)).exit_code == 0


def test_a_directory_skips_yaml_that_only_shares_prefects_names(project: Path) -> None:
    write(project, "k8s-deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\n")
    done = migrate(str(project))
    assert done.exit_code == 0, done.output
    assert not (project / "shipway.yaml").exists()
    named = migrate(str(project / "k8s-deployment.yaml"))
    assert named.exit_code == 2
    assert "not a Prefect deployment file" in named.stderr
