"""Deployments from a Python file, written in the seed's form."""

from __future__ import annotations

import types
from collections.abc import Callable
from pathlib import Path

import pytest

import shipway
import shipway.deployments
from shipway import Deployment
from shipway.deployments import collect_deployments, load_deployment_file
from shipway.entrypoints import load_flow
from shipway.errors import ConfigError

pytestmark = pytest.mark.usefixtures("isolated_imports", "testing_module")

Write = Callable[[str, str], Path]

HELLO = """
from shipway import flow

@flow
def hello_world(name: str = "world"):
    return f"Hello {name}!"
"""

# The seed's deployments.py; only the infrastructure class comes from the test plugin.
SEED = """
from shipway import Deployment
from shipway_testing import LocalEcho
from flows.hello import hello_world

Deployment(name="example", flow=hello_world, infrastructure=LocalEcho())
"""


def config_error(write: Write, text: str) -> str:
    path = write("deployments.py", text)
    with pytest.raises(ConfigError) as caught:
        load_deployment_file(path)
    return str(caught.value).replace(str(path), "deployments.py")


def test_deployment_importable_from_both_paths() -> None:
    assert shipway.Deployment is shipway.deployments.Deployment


def test_seed_form_without_assignment_is_collected(
    write: Write, tmp_path: Path, testing_module: types.ModuleType
) -> None:
    write("flows/hello.py", HELLO)
    source = load_deployment_file(write("deployments.py", SEED))
    assert list(source.deployments) == ["example"]
    example = source.get("example")
    assert example.entrypoint == "flows.hello:hello_world"
    assert example.flow_name == "hello_world"
    assert isinstance(example.infrastructure, testing_module.LocalEcho)
    assert example.infrastructure_label() == "test-local"
    assert source.blocks == {}
    assert source.working_dir_for(example) == tmp_path.resolve()
    # The engine can import the entrypoint from the project directory.
    assert load_flow(example.entrypoint, source.working_dir_for(example))() == "Hello world!"


def test_assigned_and_unassigned_deployments_each_counted_once(write: Write) -> None:
    write("flows/hello.py", HELLO)
    source = load_deployment_file(
        write(
            "deployments.py",
            SEED
            + """
nightly = Deployment(
    name="nightly",
    flow="flows/hello.py:hello_world",
    parameters={"name": "night"},
    infrastructure="test-local",
    tags=["nightly"],
)
same = nightly
""",
        )
    )
    assert list(source.deployments) == ["example", "nightly"]
    nightly = source.get("nightly")
    assert nightly.entrypoint == "flows/hello.py:hello_world"
    assert nightly.parameters == {"name": "night"}
    assert nightly.infrastructure == "test-local"


def test_flow_defined_in_the_deployments_file_gets_an_importable_entrypoint(
    write: Write,
) -> None:
    path = write(
        "deployments.py",
        """
        from shipway import Deployment, flow

        @flow(name="inline-flow")
        def inline(n: int = 1):
            return n * 2

        def plain():
            return "plain"

        Deployment(name="inline", flow=inline, infrastructure="test-local")
        Deployment(name="plain", flow=plain, infrastructure="test-local")
        """,
    )
    source = load_deployment_file(path)
    inline = source.get("inline")
    assert inline.flow_name == "inline-flow"
    assert inline.entrypoint == f"{path}:inline"
    assert load_flow(inline.entrypoint, source.working_dir_for(inline))(n=4) == 8
    plain = source.get("plain")
    assert load_flow(plain.entrypoint, source.working_dir_for(plain))() == "plain"


def test_collect_deployments_gathers_only_inside_the_block() -> None:
    Deployment(name="before", flow="f.py:main")
    with collect_deployments() as found:
        inside = Deployment(name="inside", flow="f.py:main")
    Deployment(name="after", flow="f.py:main")
    assert found == [inside]


def test_file_raising_reports_file_and_line(write: Write) -> None:
    message = config_error(
        write,
        """
        from shipway import Deployment

        SETTINGS = {}
        Deployment(name="a", flow="f.py:main", infrastructure=SETTINGS["infra"])
        """,
    )
    assert message.splitlines()[0] == (
        "deployments.py:4: loading deployments raised KeyError: 'infra'"
    )
    assert "--debug" in message


def test_error_raised_in_a_function_points_at_the_deepest_line_in_the_file(
    write: Write,
) -> None:
    message = config_error(
        write,
        """
        def settings():
            raise RuntimeError("no settings")

        settings()
        """,
    )
    assert message.startswith("deployments.py:2: loading deployments raised RuntimeError")


def test_missing_import_is_reported_with_its_line(write: Write) -> None:
    message = config_error(write, "import os\nfrom flows.nope import hello_world\n")
    assert message.startswith("deployments.py:2: loading deployments raised ModuleNotFoundError")


def test_invalid_deployment_reports_file_line_and_field(write: Write) -> None:
    message = config_error(
        write,
        """
        from shipway import Deployment

        Deployment(
            name="a",
            flow="f.py:main",
            paramters={"x": 1},
        )
        """,
    )
    lines = message.splitlines()
    assert lines[0] == "a Deployment in deployments.py is not valid (1 problem):"
    assert lines[1].strip().startswith("deployments.py:3: paramters: unknown field")


def test_duplicate_names_in_python(write: Write) -> None:
    message = config_error(
        write,
        """
        from shipway import Deployment

        Deployment(name="a", flow="f.py:main")
        Deployment(name="a", flow="g.py:main")
        """,
    )
    assert "two deployments are named 'a'" in message


def test_python_deployment_validation_without_a_file() -> None:
    with pytest.raises(ValueError, match="must look like"):
        Deployment(name="a", flow="no-function-here")
    with pytest.raises(ValueError, match="not int"):
        Deployment(name="a", flow="f.py:main", infrastructure=3)
