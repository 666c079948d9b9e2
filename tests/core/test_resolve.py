"""resolve_infrastructure: a type name, a block name, a mapping or an instance, plus
overrides from the file and the command line, into one validated Infrastructure."""

from __future__ import annotations

import types
from collections.abc import Callable
from pathlib import Path

import pytest

from shipway import Deployment
from shipway.deployments import DeploymentFile, load_deployment_file, resolve_infrastructure
from shipway.errors import ConfigError
from shipway.plugins import PluginRegistry, find_plugin_sources

Write = Callable[[str, str], Path]

CONFIG = """
infrastructure:
  quiet:
    type: test-local
    stream_output: false
    env: {LEVEL: block, SHARED: block}
  test-unstartable:          # a block named like an installed type
    type: test-local
    name: from-block
deployments:
  - name: by-type
    flow: flows/hello.py:hello_world
    infrastructure: test-local
  - name: by-block
    flow: flows/hello.py:hello_world
    infrastructure: quiet
    overrides:
      env: {SHARED: file, FILE_ONLY: "1"}
      labels: {team: data}
  - name: shadowed
    flow: flows/hello.py:hello_world
    infrastructure: test-unstartable
  - name: inline
    flow: flows/hello.py:hello_world
    infrastructure: {type: test-local, env: {RETRIES: 3}, grace_seconds: 1}
"""


@pytest.fixture
def source(write: Write) -> DeploymentFile:
    return load_deployment_file(write("shipway.yaml", CONFIG))


def test_type_name(
    source: DeploymentFile, registry: PluginRegistry, testing_module: types.ModuleType
) -> None:
    infra = resolve_infrastructure(source.get("by-type"), source, registry=registry)
    assert type(infra) is testing_module.LocalEcho
    assert infra.type == "test-local"
    assert infra.env == {}
    assert infra.stream_output is True


def test_block_name(source: DeploymentFile, registry: PluginRegistry) -> None:
    infra = resolve_infrastructure(source.get("by-block"), source, registry=registry)
    assert infra.type == "test-local"
    assert infra.stream_output is False  # type: ignore[attr-defined]
    assert infra.env == {"LEVEL": "block", "SHARED": "file", "FILE_ONLY": "1"}
    assert infra.labels == {"team": "data"}


def test_block_wins_over_a_type_of_the_same_name(
    source: DeploymentFile, registry: PluginRegistry, testing_module: types.ModuleType
) -> None:
    infra = resolve_infrastructure(source.get("shadowed"), source, registry=registry)
    assert type(infra) is testing_module.LocalEcho
    assert infra.name == "from-block"


def test_inline_mapping(source: DeploymentFile, registry: PluginRegistry) -> None:
    infra = resolve_infrastructure(source.get("inline"), source, registry=registry)
    assert infra.type == "test-local"
    assert infra.env == {"RETRIES": "3"}  # env values become strings
    assert infra.grace_seconds == 1  # type: ignore[attr-defined]


def test_instance(
    tmp_path: Path, registry: PluginRegistry, testing_module: types.ModuleType
) -> None:
    original = testing_module.LocalEcho(env={"A": "instance", "B": "instance"}, grace_seconds=2)
    deployment = Deployment(
        name="python",
        flow="flows/hello.py:hello_world",
        infrastructure=original,
        overrides={"env": {"B": "file"}},
    )
    source = DeploymentFile(tmp_path / "deployments.py", [deployment])
    infra = resolve_infrastructure(
        deployment, source, overrides={"stream_output": False}, registry=registry
    )
    assert type(infra) is testing_module.LocalEcho
    assert infra.env == {"A": "instance", "B": "file"}
    assert infra.grace_seconds == 2  # type: ignore[attr-defined]
    assert infra.stream_output is False  # type: ignore[attr-defined]
    assert original.env == {"A": "instance", "B": "instance"}  # not modified
    assert original.stream_output is True


def test_overrides_from_file_then_command_line(
    source: DeploymentFile, registry: PluginRegistry
) -> None:
    infra = resolve_infrastructure(
        source.get("by-block"),
        source,
        overrides={"env": {"FILE_ONLY": "cli", "LEVEL": None}, "stream_output": True},
        registry=registry,
    )
    assert infra.env == {"LEVEL": None, "SHARED": "file", "FILE_ONLY": "cli"}
    assert infra.stream_output is True  # type: ignore[attr-defined]


def test_overrides_cannot_switch_the_type(source: DeploymentFile, registry: PluginRegistry) -> None:
    # Silently running on the old type would be worse than refusing.
    with pytest.raises(ConfigError) as caught:
        resolve_infrastructure(
            source.get("by-type"), source, overrides={"type": "test-unstartable"}, registry=registry
        )
    assert caught.value.message == (
        "--override: overrides cannot change the infrastructure type of deployment "
        "'by-type' from 'test-local' to 'test-unstartable'"
    )
    assert caught.value.hint is not None and "'infrastructure' field" in caught.value.hint


def test_a_type_override_in_the_file_points_at_its_line(
    write: Write, registry: PluginRegistry
) -> None:
    message = _error(
        write,
        """
        deployments:
          - name: a
            flow: f.py:main
            infrastructure: test-local
            overrides:
              type: test-unstartable
        """,
        registry,
    )
    assert message.startswith("shipway.yaml:6: overrides cannot change the infrastructure type")


@pytest.mark.parametrize("same", ["test-local", None])
def test_overriding_the_type_with_itself_or_null_changes_nothing(
    source: DeploymentFile,
    registry: PluginRegistry,
    testing_module: types.ModuleType,
    same: str | None,
) -> None:
    infra = resolve_infrastructure(
        source.get("by-type"), source, overrides={"type": same}, registry=registry
    )
    assert type(infra) is testing_module.LocalEcho
    assert infra.type == "test-local"


def _error(write: Write, text: str, registry: PluginRegistry, **overrides: object) -> str:
    path = write("shipway.yaml", text)
    source = load_deployment_file(path)
    deployment = next(iter(source.deployments.values()))
    with pytest.raises(ConfigError) as caught:
        resolve_infrastructure(deployment, source, overrides=overrides, registry=registry)
    return str(caught.value).replace(str(path), "shipway.yaml")


def test_mistyped_field_in_a_block(write: Write, registry: PluginRegistry) -> None:
    message = _error(
        write,
        """
        infrastructure:
          local:
            type: test-local
            stream_output: maybe
        deployments:
          - name: a
            flow: f.py:main
            infrastructure: local
        """,
        registry,
    )
    lines = message.splitlines()
    assert lines[0] == ("infrastructure for deployment 'a' (test-local) is not valid (1 problem):")
    assert (
        lines[1]
        .strip()
        .startswith(
            "shipway.yaml:4: infrastructure.local.stream_output: Input should be a valid boolean"
        )
    )
    assert "'maybe'" in lines[1]


def test_unknown_field_lists_the_accepted_fields(write: Write, registry: PluginRegistry) -> None:
    message = _error(
        write,
        """
        infrastructure:
          local:
            type: test-local
            stream_outptu: false
        deployments:
          - name: a
            flow: f.py:main
            infrastructure: local
        """,
        registry,
    )
    assert (
        "shipway.yaml:4: infrastructure.local.stream_outptu: unknown field (LocalEcho accepts: "
        "type, name, env, labels, command, stream_output, grace_seconds)"
    ) in message


def test_bad_field_in_inline_mapping(write: Write, registry: PluginRegistry) -> None:
    message = _error(
        write,
        """
        deployments:
          - name: a
            flow: f.py:main
            infrastructure:
              type: test-local
              grace_seconds: -1
        """,
        registry,
    )
    assert "shipway.yaml:6: deployments[0].infrastructure.grace_seconds:" in message
    assert "greater than or equal to 0" in message


def test_bad_field_from_the_deployments_overrides(write: Write, registry: PluginRegistry) -> None:
    message = _error(
        write,
        """
        deployments:
          - name: a
            flow: f.py:main
            infrastructure: test-local
            overrides:
              env: {A: "1"}
              grace_seconds: soon
        """,
        registry,
    )
    assert "shipway.yaml:7: deployments[0].infrastructure.grace_seconds:" in message


def test_bad_field_from_the_command_line(write: Write, registry: PluginRegistry) -> None:
    message = _error(
        write,
        "deployments:\n  - name: a\n    flow: f.py:main\n    infrastructure: test-local\n",
        registry,
        grace_seconds="soon",
        colour="red",
    )
    assert "(2 problems)" in message.splitlines()[0]
    assert "--override: deployments[0].infrastructure.grace_seconds:" in message
    assert "--override: deployments[0].infrastructure.colour: unknown field" in message


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ('{"": "1"}', "'' cannot be an environment variable name"),
        ('{"A=B": "1"}', "'A=B' cannot be an environment variable name"),
        ('{"A": "x\\0y"}', "the value of A contains a NUL character"),
    ],
    ids=["empty name", "name with =", "NUL in value"],
)
def test_env_that_no_process_could_receive_is_rejected_with_its_line(
    write: Write, registry: PluginRegistry, env: str, expected: str
) -> None:
    message = _error(
        write,
        "deployments:\n  - name: a\n    flow: f.py:main\n"
        f"    infrastructure: {{type: test-local, env: {env}}}\n",
        registry,
    )
    assert f"shipway.yaml:4: deployments[0].infrastructure.env: {expected}" in message


def test_several_problems_reported_together(write: Write, registry: PluginRegistry) -> None:
    message = _error(
        write,
        """
        infrastructure:
          local:
            type: test-local
            stream_output: maybe
            grace_seconds: soon
            colour: red
        deployments:
          - name: a
            flow: f.py:main
            infrastructure: local
        """,
        registry,
    )
    assert "(3 problems)" in message
    for line_number in (4, 5, 6):
        assert f"shipway.yaml:{line_number}: infrastructure.local." in message


def test_unknown_name_lists_blocks_and_installed_types(
    write: Write, registry: PluginRegistry
) -> None:
    path = write(
        "shipway.yaml",
        """
        infrastructure:
          local: {type: test-local}
          remote: {type: test-unstartable}
        deployments:
          - name: a
            flow: f.py:main
            infrastructure: lokal
        """,
    )
    source = load_deployment_file(path)
    with pytest.raises(ConfigError) as caught:
        resolve_infrastructure(source.get("a"), source, registry=registry)
    error = caught.value
    assert error.location == f"{path}:7"
    assert "unknown infrastructure 'lokal'." in error.message
    assert "Infrastructure blocks defined in the file: local, remote." in error.message
    installed = error.message.split("Installed infrastructure types: ")[1]
    assert "test-local" in installed and "test-unstartable" in installed
    assert error.hint is not None and "Pick one of the names above" in error.hint


def test_unknown_type_in_a_block_points_at_its_type_line(
    write: Write, registry: PluginRegistry
) -> None:
    message = _error(
        write,
        """
        infrastructure:
          local:
            env: {}
            type: no-such-type
        deployments:
          - name: a
            flow: f.py:main
            infrastructure: local
        """,
        registry,
    )
    assert message.startswith("shipway.yaml:4: unknown infrastructure 'no-such-type'.")


def test_unknown_first_party_type_names_the_package_to_install(
    write: Write, registry: PluginRegistry
) -> None:
    if find_plugin_sources("shipway.infrastructure", "kubernetes-job"):
        pytest.skip("shipway-kubernetes is installed here")
    message = _error(
        write,
        "deployments:\n  - name: a\n    flow: f.py:main\n    infrastructure: kubernetes-job\n",
        registry,
    )
    assert "pip install shipway-kubernetes" in message
