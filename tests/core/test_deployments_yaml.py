"""Deployments from a shipway.yaml: the documented form, and errors that say file:line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from shipway import Deployment
from shipway.deployments import DEFAULT_FILE, DeploymentFile, load_deployment_file
from shipway.errors import ConfigError, DeploymentNotFound, ShipwayError

Write = Callable[[str, str], Path]

# The configuration form from the issue, unchanged.
ISSUE_YAML = """
infrastructure:
  local-debug:
    type: process
    env: {LOG_LEVEL: debug}
deployments:
  - name: example
    flow: flows/hello.py:hello_world
    infrastructure: process
  - name: example-debug
    flow: flows/hello.py:hello_world
    parameters: {name: debug}
    infrastructure: local-debug
    overrides: {env: {EXTRA: "1"}}
"""

# The form from the architecture page: a block of another type, overrides inline.
ARCHITECTURE_YAML = """
# shipway.yaml
infrastructure:            # named blocks, reusable across deployments
  cluster:
    type: kubernetes-job
    namespace: flows
deployments:
  - name: example
    flow: flows/hello.py:hello_world
    infrastructure: process             # a type name, with its defaults
  - name: example_k8s
    flow: flows/hello.py:hello_world
    infrastructure: cluster             # a named block
    overrides: {env: {LOG_LEVEL: debug}}
"""


def load(write: Write, text: str, name: str = "shipway.yaml") -> DeploymentFile:
    return load_deployment_file(write(name, text))


def config_error(write: Write, text: str, name: str = "shipway.yaml") -> str:
    path = write(name, text)
    with pytest.raises(ConfigError) as caught:
        load_deployment_file(path)
    return str(caught.value).replace(str(path), name)


class TestDocumentedForms:
    def test_issue_form(self, write: Write, tmp_path: Path) -> None:
        source = load(write, ISSUE_YAML)
        assert list(source.deployments) == ["example", "example-debug"]
        assert source.blocks == {"local-debug": {"type": "process", "env": {"LOG_LEVEL": "debug"}}}

        example = source.get("example")
        assert isinstance(example, Deployment)
        assert example.entrypoint == "flows/hello.py:hello_world"
        assert example.flow_name == "hello_world"
        assert example.infrastructure == "process"
        assert example.parameters == {}
        assert example.overrides == {}

        debug = source.get("example-debug")
        assert debug.parameters == {"name": "debug"}
        assert debug.infrastructure == "local-debug"
        assert debug.infrastructure_label() == "local-debug"
        assert debug.overrides == {"env": {"EXTRA": "1"}}

        assert source.directory == tmp_path
        assert source.working_dir_for(example) == tmp_path.resolve()
        assert source.index_of("example-debug") == 1

    def test_architecture_form(self, write: Write) -> None:
        source = load(write, ARCHITECTURE_YAML)
        assert list(source.deployments) == ["example", "example_k8s"]
        assert source.blocks["cluster"] == {"type": "kubernetes-job", "namespace": "flows"}
        k8s = source.get("example_k8s")
        assert k8s.infrastructure == "cluster"
        assert k8s.overrides == {"env": {"LOG_LEVEL": "debug"}}

    def test_loading_imports_no_plugin(self, write: Write) -> None:
        # Blocks stay plain data until a run resolves them, so an uninstalled type
        # (kubernetes-job here) does not stop the file from loading.
        source = load(write, ARCHITECTURE_YAML)
        assert source.get("example_k8s").infrastructure_label() == "cluster"

    def test_all_fields(self, write: Write, tmp_path: Path) -> None:
        source = load(
            write,
            """
            deployments:
              - name: full
                flow: pkg.flows:nightly
                parameters: {day: monday, retries: 2}
                infrastructure: {type: process, env: {A: b}}
                overrides: {labels: {team: data}}
                tags: [nightly, data]
                description: The nightly job.
                version: "1.2"
                path: project
            """,
            name="conf/shipway.yaml",
        )
        full = source.get("full")
        assert full.entrypoint == "pkg.flows:nightly"
        assert full.flow_name == "nightly"
        assert full.parameters == {"day": "monday", "retries": 2}
        assert full.infrastructure == {"type": "process", "env": {"A": "b"}}
        assert full.infrastructure_label() == "process"
        assert full.tags == ["nightly", "data"]
        assert full.description == "The nightly job."
        assert full.version == "1.2"
        assert source.working_dir_for(full) == (tmp_path / "conf" / "project").resolve()

    def test_default_infrastructure_is_process(self, write: Write) -> None:
        source = load(write, "deployments:\n  - name: a\n    flow: f.py:main\n")
        assert source.get("a").infrastructure == "process"

    def test_empty_file_has_no_deployments(self, write: Write) -> None:
        assert load(write, "").deployments == {}

    def test_default_file_name(
        self, write: Write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        assert DEFAULT_FILE == "shipway.yaml"
        write("shipway.yaml", ISSUE_YAML)
        monkeypatch.chdir(tmp_path)
        assert "example" in load_deployment_file().deployments


class TestErrors:
    def test_malformed_yaml_gives_file_line_and_column(self, write: Write) -> None:
        message = config_error(
            write,
            """
            deployments:
              - name: example
                flow: flows/hello.py:hello_world
                parameters: name: x
            """,
        )
        assert message.startswith("shipway.yaml:4:")
        assert "invalid YAML: mapping values are not allowed here" in message

    def test_bad_indentation(self, write: Write) -> None:
        message = config_error(
            write,
            "deployments:\n  - name: example\n    flow: f.py:main\n   tags: []\n",
        )
        assert message.startswith("shipway.yaml:4:4: invalid YAML")

    def test_unknown_field_in_a_deployment(self, write: Write) -> None:
        message = config_error(
            write,
            """
            deployments:
              - name: example
                flow: flows/hello.py:hello_world
              - name: second
                flow: flows/hello.py:hello_world
                paramters: {name: x}
            """,
        )
        lines = message.splitlines()
        assert lines[0] == "deployment 'second' in shipway.yaml is not valid (1 problem):"
        assert (
            lines[1].strip().startswith("shipway.yaml:6: deployments[1].paramters: unknown field")
        )
        assert "Deployment accepts: name, flow, parameters, infrastructure" in lines[1]

    def test_every_problem_of_a_deployment_is_listed(self, write: Write) -> None:
        message = config_error(
            write,
            """
            deployments:
              - name: example
                infrastructure: {env: {}}
                tags: nightly
            """,
        )
        assert "(3 problems)" in message.splitlines()[0]
        assert "shipway.yaml:2: deployments[0].flow: required field is missing" in message
        assert (
            "shipway.yaml:3: deployments[0].infrastructure: an inline infrastructure mapping "
            "needs a 'type'" in message
        )
        assert "shipway.yaml:4: deployments[0].tags:" in message

    def test_flow_without_function(self, write: Write) -> None:
        message = config_error(write, "deployments:\n  - name: example\n    flow: flows/hello.py\n")
        assert "shipway.yaml:3: deployments[0].flow: must look like 'path/to/file.py:function'" in (
            message
        )

    def test_unknown_top_level_key(self, write: Write) -> None:
        message = config_error(
            write, "infrastructure: {}\ndeployment:\n  - name: example\n    flow: f.py:main\n"
        )
        assert message == (
            "shipway.yaml:2: unknown top-level key 'deployment' "
            "(expected: infrastructure, storage, deployments)"
        )

    def test_deployments_not_a_list(self, write: Write) -> None:
        message = config_error(write, "deployments:\n  name: example\n  flow: f.py:main\n")
        assert message.startswith("shipway.yaml:1: 'deployments' must be a list")

    def test_deployment_not_a_mapping(self, write: Write) -> None:
        message = config_error(write, "deployments:\n  - example\n")
        assert message.startswith("shipway.yaml:2: each deployment must be a mapping")

    def test_file_not_a_mapping(self, write: Write) -> None:
        message = config_error(write, "- name: example\n")
        assert "the file must be a mapping with 'deployments:'" in message
        assert message.startswith("shipway.yaml")

    def test_infrastructure_block_without_type(self, write: Write) -> None:
        message = config_error(
            write,
            """
            infrastructure:
              fine: {type: process}
              local:
                env: {A: "1"}
            deployments: []
            """,
        )
        assert message == (
            "shipway.yaml:3: infrastructure block 'local' needs a 'type' (e.g. type: process)"
        )

    def test_infrastructure_not_a_mapping(self, write: Write) -> None:
        message = config_error(write, "infrastructure: [process]\n")
        assert message.startswith("shipway.yaml:1: 'infrastructure' must map block names")

    def test_duplicate_deployment_names(self, write: Write) -> None:
        message = config_error(
            write,
            """
            deployments:
              - name: example
                flow: f.py:main
              - name: other
                flow: f.py:main
              - name: example
                flow: f.py:main
            """,
        )
        assert (
            message == "shipway.yaml:6: two deployments are named 'example'; names must be unique"
        )

    def test_missing_deployment_lists_the_known_ones(self, write: Write) -> None:
        source = load(write, ISSUE_YAML)
        with pytest.raises(DeploymentNotFound) as caught:
            source.get("exmaple")
        error = caught.value
        assert "no deployment named 'exmaple'" in error.message
        assert "Known deployments: example, example-debug." in error.message
        assert error.hint is not None and "shipway deployment ls" in error.hint

    def test_missing_deployment_in_an_empty_file(self, write: Write) -> None:
        with pytest.raises(DeploymentNotFound, match="Known deployments: none"):
            load(write, "deployments: []\n").get("example")

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(ShipwayError) as caught:
            load_deployment_file(tmp_path / "nope.yaml")
        assert f"deployment file '{tmp_path / 'nope.yaml'}' not found" in caught.value.message
        assert caught.value.hint == "Check the path given to -f."

    def test_missing_default_file_explains_the_default(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        with pytest.raises(ShipwayError) as caught:
            load_deployment_file()
        assert caught.value.message == "deployment file 'shipway.yaml' not found"
        assert caught.value.hint is not None and "-f FILE" in caught.value.hint

    def test_directory_instead_of_file(self, tmp_path: Path) -> None:
        with pytest.raises(ShipwayError, match="is a directory"):
            load_deployment_file(tmp_path)

    def test_a_file_that_is_not_utf8_names_the_line(self, tmp_path: Path) -> None:
        path = tmp_path / "shipway.yaml"
        path.write_bytes(b"deployments:\n  - name: caf\xe9\n    flow: f.py:main\n")
        with pytest.raises(ConfigError) as caught:
            load_deployment_file(path)
        assert caught.value.message == (
            f"{path}:2: the file is not UTF-8 text (byte 0xe9 cannot be decoded)"
        )
        assert caught.value.hint is not None and "UTF-8" in caught.value.hint

    def test_windows_line_endings_read_like_unix_ones(self, tmp_path: Path) -> None:
        path = tmp_path / "shipway.yaml"
        path.write_bytes(b"deployments:\r\n  - name: a\r\n    flow: f.py:main\r\n    tagz: []\r\n")
        with pytest.raises(ConfigError) as caught:
            load_deployment_file(path)
        assert f"{path}:4: deployments[0].tagz: unknown field" in str(caught.value)

    def test_errors_are_user_errors(self) -> None:
        assert issubclass(ConfigError, ShipwayError)
        assert issubclass(DeploymentNotFound, ShipwayError)
