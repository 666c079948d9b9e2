"""The deprecated flow runners: their fields, their conversion to infrastructure, and
``Deployment(flow_runner=...)``. No plugin is needed: the conversion gives a mapping
with ``type``, resolved through the registry only when the deployment runs."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from pydantic import ValidationError

import shipway.flow_runners
from shipway import Deployment
from shipway.deployments import load_deployment_file, resolve_infrastructure
from shipway.errors import ConfigError
from shipway.flow_runners import (
    DockerFlowRunner,
    FlowRunnerConversionWarning,
    ImagePullPolicy,
    KubernetesFlowRunner,
    KubernetesImagePullPolicy,
    SubprocessFlowRunner,
)
from shipway.plugins import PluginPolicy, PluginRegistry

Write = Callable[[str, str], Path]

HELLO = """
from shipway import flow

@flow
def hello_world(name: str = "world"):
    return f"Hello {name}!"
"""


def hello() -> None:
    """A function to point deployments at (an entrypoint is all a Deployment keeps)."""


# -- the old field sets ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("runner", "fields"),
    [
        (SubprocessFlowRunner, ["env", "condaenv", "virtualenv", "stream_output"]),
        (
            DockerFlowRunner,
            [
                "env",
                "image",
                "image_pull_policy",
                "networks",
                "network_mode",
                "labels",
                "auto_remove",
                "volumes",
                "stream_output",
            ],
        ),
        (
            KubernetesFlowRunner,
            [
                "env",
                "image",
                "namespace",
                "service_account_name",
                "labels",
                "image_pull_policy",
                "job",
                "customizations",
                "job_watch_timeout_seconds",
                "pod_watch_timeout_seconds",
                "stream_output",
            ],
        ),
    ],
)
def test_each_runner_has_exactly_the_prefect_beta_fields(
    runner: type[shipway.flow_runners.FlowRunner], fields: list[str]
) -> None:
    assert sorted(runner.model_fields) == sorted(fields)


@pytest.mark.parametrize("runner", [SubprocessFlowRunner, DockerFlowRunner, KubernetesFlowRunner])
def test_unknown_fields_are_rejected(runner: type[shipway.flow_runners.FlowRunner]) -> None:
    with pytest.raises(ValidationError, match="cluster_config"):
        runner(cluster_config={"context": "prod"})


def test_condaenv_and_virtualenv_exclude_each_other() -> None:
    with pytest.raises(ValidationError, match="condaenv and virtualenv are mutually exclusive"):
        SubprocessFlowRunner(condaenv="etl", virtualenv="/opt/venv")


def test_all_names_are_public_and_listed() -> None:
    public = {
        name
        for name, value in vars(shipway.flow_runners).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == "shipway.flow_runners"
    }
    assert public == set(shipway.flow_runners.__all__)


# -- conversion, field by field ----------------------------------------------------------


def test_subprocess_converts_to_process_renaming_condaenv() -> None:
    runner = SubprocessFlowRunner(condaenv="analytics", stream_output=True, env={"A": "1"})
    assert runner.infrastructure_spec() == {
        "type": "process",
        "conda_env": "analytics",
        "stream_output": True,
        "env": {"A": "1"},
    }


def test_paths_become_text() -> None:
    assert SubprocessFlowRunner(virtualenv=Path("/opt/venvs/etl")).infrastructure_spec() == {
        "type": "process",
        "virtualenv": "/opt/venvs/etl",
    }
    assert SubprocessFlowRunner(condaenv=Path("/opt/conda/envs/etl")).infrastructure_spec() == {
        "type": "process",
        "conda_env": "/opt/conda/envs/etl",
    }


def test_only_fields_that_were_set_are_converted() -> None:
    """Unset fields take the new infrastructure's defaults, as after `shipway migrate`:
    SubprocessFlowRunner() did not stream output, but Process() does."""
    assert SubprocessFlowRunner().infrastructure_spec() == {"type": "process"}
    assert KubernetesFlowRunner().infrastructure_spec() == {"type": "kubernetes-job"}
    # ... and a None meant "not set" for every field that allowed it.
    assert DockerFlowRunner(network_mode=None, labels=None).infrastructure_spec() == {
        "type": "docker-container"
    }


def test_docker_converts_every_field() -> None:
    runner = DockerFlowRunner(
        image="flows:1.0",
        image_pull_policy=ImagePullPolicy.IF_NOT_PRESENT,
        networks=["backend"],  # network_mode excludes networks: converted below
        labels={"team": "data"},
        auto_remove=True,
        volumes=["/data:/data:ro"],
        stream_output=False,
        env={"LOG_LEVEL": "debug"},
    )
    assert runner.infrastructure_spec() == {
        "type": "docker-container",
        "image": "flows:1.0",
        "image_pull_policy": "if_not_present",
        "networks": ["backend"],
        "labels": {"team": "data"},
        "auto_remove": True,
        "volumes": ["/data:/data:ro"],
        "stream_output": False,
        "env": {"LOG_LEVEL": "debug"},
    }
    assert DockerFlowRunner(network_mode="host").infrastructure_spec() == {
        "type": "docker-container",
        "network_mode": "host",
    }


@pytest.mark.parametrize(
    ("given", "converted"),
    [
        (ImagePullPolicy.ALWAYS, "always"),
        (ImagePullPolicy.NEVER, "never"),
        ("IF_NOT_PRESENT", "if_not_present"),
        ("never", "never"),
        ("IfNotPresent", "if_not_present"),  # the Kubernetes spelling is understood too
    ],
)
def test_docker_pull_policy_is_spelled_in_lower_case(
    given: ImagePullPolicy | str, converted: str
) -> None:
    spec = DockerFlowRunner(image_pull_policy=given).infrastructure_spec()
    assert spec["image_pull_policy"] == converted


def test_docker_rejects_an_unknown_pull_policy() -> None:
    with pytest.raises(ValidationError, match="image_pull_policy"):
        DockerFlowRunner(image_pull_policy="sometimes")


def test_kubernetes_converts_every_field_keeping_its_pull_policy_spelling(
    tmp_path: Path,
) -> None:
    job_file = tmp_path / "job.yaml"
    job_file.write_text("apiVersion: batch/v1\nkind: Job\nmetadata: {labels: {a: b}}\n")
    patches = [{"op": "add", "path": "/spec/ttlSecondsAfterFinished", "value": 300}]
    runner = KubernetesFlowRunner(
        image="registry.internal/flows:1.0",
        namespace="flows",
        service_account_name="flow-runner",
        labels={"team": "data"},
        image_pull_policy=KubernetesImagePullPolicy.ALWAYS,
        job=KubernetesFlowRunner.job_from_file(job_file),
        customizations=patches,
        job_watch_timeout_seconds=3600,
        pod_watch_timeout_seconds=120,
        stream_output=False,
        env={"A": "1"},
    )
    assert runner.infrastructure_spec() == {
        "type": "kubernetes-job",
        "image": "registry.internal/flows:1.0",
        "namespace": "flows",
        "service_account_name": "flow-runner",
        "labels": {"team": "data"},
        "image_pull_policy": "Always",
        "job": {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"labels": {"a": "b"}}},
        "customizations": patches,
        "job_watch_timeout_seconds": 3600,
        "pod_watch_timeout_seconds": 120,
        "stream_output": False,
        "env": {"A": "1"},
    }


@pytest.mark.parametrize("given", ["IfNotPresent", "IF_NOT_PRESENT", "if_not_present"])
def test_kubernetes_pull_policy_keeps_the_kubernetes_spelling(given: str) -> None:
    spec = KubernetesFlowRunner(image_pull_policy=given).infrastructure_spec()
    assert spec["image_pull_policy"] == "IfNotPresent"


def test_kubernetes_customizations_from_a_json_patch_object_or_a_file(tmp_path: Path) -> None:
    class JsonPatchLike:  # what jsonpatch.JsonPatch looks like to the runner: .patch
        def __init__(self) -> None:
            self.patch = [{"op": "remove", "path": "/spec/backoffLimit"}]

    assert KubernetesFlowRunner(customizations=JsonPatchLike()).customizations == [
        {"op": "remove", "path": "/spec/backoffLimit"}
    ]
    patch_file = tmp_path / "patch.json"
    patch_file.write_text('[{"op": "add", "path": "/metadata/labels/x", "value": "y"}]')
    assert KubernetesFlowRunner.customize_from_file(patch_file) == [
        {"op": "add", "path": "/metadata/labels/x", "value": "y"}
    ]


def test_prefect_settings_in_env_are_named_with_what_to_do() -> None:
    runner = SubprocessFlowRunner(env={"PREFECT_API_URL": "http://x", "A": "1"})
    [problem] = runner.conversion_warnings()
    assert "SubprocessFlowRunner.env sets PREFECT_API_URL" in problem
    assert "remove them unless your flow reads them" in problem
    assert runner.infrastructure_spec()["env"] == {"PREFECT_API_URL": "http://x", "A": "1"}
    assert SubprocessFlowRunner(env={"A": "1"}).conversion_warnings() == []


def test_virtualenv_warns_that_it_is_not_activated() -> None:
    """Prefect put the environment's bin/ on PATH and set VIRTUAL_ENV; Process does not."""
    [problem] = SubprocessFlowRunner(virtualenv="/opt/venvs/etl").conversion_warnings()
    assert problem.startswith("SubprocessFlowRunner.virtualenv has no exact equivalent")
    assert "set VIRTUAL_ENV and PATH in env" in problem
    assert SubprocessFlowRunner(condaenv="etl").conversion_warnings() == []


# Every field set, to something the new infrastructure must accept as it is.
FULLY_SET = [
    SubprocessFlowRunner(virtualenv=Path("/opt/venvs/etl"), stream_output=False, env={"A": "1"}),
    SubprocessFlowRunner(condaenv=Path("/opt/conda/envs/etl")),
    DockerFlowRunner(
        image="flows:1.0",
        image_pull_policy=ImagePullPolicy.NEVER,
        networks=["backend"],
        labels={"team": "data"},
        auto_remove=True,
        volumes=["/data:/data:ro"],
        stream_output=False,
        env={"A": "1"},
    ),
    DockerFlowRunner(network_mode="host"),
    # Both: DockerContainer takes one of them, so network_mode is dropped (with a warning).
    DockerFlowRunner(networks=["backend"], network_mode="bridge"),
    KubernetesFlowRunner(
        image="flows:1.0",
        namespace="flows",
        service_account_name="runner",
        labels={"team": "data"},
        image_pull_policy=KubernetesImagePullPolicy.ALWAYS,
        job={"apiVersion": "batch/v1", "kind": "Job"},
        customizations=[{"op": "add", "path": "/spec/backoffLimit", "value": 0}],
        job_watch_timeout_seconds=60,
        pod_watch_timeout_seconds=120,
        stream_output=False,
        env={"A": "1"},
    ),
]


def test_docker_networks_and_network_mode_together_keep_the_networks_and_warn() -> None:
    runner = DockerFlowRunner(networks=["backend", "cache"], network_mode="bridge")

    assert runner.infrastructure_spec() == {
        "type": "docker-container",
        "networks": ["backend", "cache"],
    }
    [problem] = runner.conversion_warnings()
    assert problem.startswith(
        "DockerFlowRunner sets both networks and network_mode='bridge', which have no "
        "equivalent together"
    )
    assert "joins the networks backend, cache and network_mode is dropped" in problem
    assert runner.replacement() == "DockerContainer(networks=['backend', 'cache'])"
    assert DockerFlowRunner(network_mode="host").conversion_warnings() == []


@pytest.mark.parametrize("runner", FULLY_SET, ids=lambda r: type(r).__name__)
def test_every_converted_field_is_accepted_by_the_installed_infrastructure(
    runner: shipway.flow_runners.FlowRunner,
) -> None:
    """The conversion is checked against the real plugin class: a field it renamed wrong,
    or one the plugin lacks, would fail only when the deployment runs."""
    spec = runner.infrastructure_spec()
    registry = PluginRegistry(PluginPolicy())
    if spec["type"] not in registry.installed_type_names():
        pytest.skip(f"the plugin providing {spec['type']!r} is not installed here")
    cls = registry.resolve(spec["type"])

    infrastructure = cls.model_validate(spec)

    assert type(infrastructure).__name__ == runner.infrastructure_class
    for key, value in spec.items():
        assert getattr(infrastructure, key) == value, key


def test_replacement_is_the_new_call_with_long_values_elided() -> None:
    assert SubprocessFlowRunner(condaenv="x").replacement() == "Process(conda_env='x')"
    assert DockerFlowRunner().replacement() == "DockerContainer()"
    long_job = {"spec": {"template": {"spec": {"containers": [{"name": "a" * 40}]}}}}
    assert (
        KubernetesFlowRunner(namespace="flows", job=long_job).replacement()
        == "KubernetesJob(namespace='flows', job=...)"
    )


# -- Deployment(flow_runner=...) ---------------------------------------------------------


def test_deployment_flow_runner_warns_naming_the_replacement_and_converts() -> None:
    with pytest.warns(DeprecationWarning) as caught:
        deployment = Deployment(
            name="example", flow=hello, flow_runner=SubprocessFlowRunner(condaenv="x")
        )
    [warning] = caught.list
    assert str(warning.message).startswith(
        "flow_runner=SubprocessFlowRunner(...) is deprecated: "
        "use infrastructure=Process(conda_env='x') "
        "(from shipway.infrastructure import Process)."
    )
    assert "shipway migrate" in str(warning.message)
    assert warning.filename == __file__  # it points at the line creating the Deployment
    assert deployment.infrastructure == {"type": "process", "conda_env": "x"}
    assert deployment.infrastructure_label() == "process"


@pytest.mark.parametrize(
    ("runner", "replacement", "type_name"),
    [
        (DockerFlowRunner(image="f:1"), "DockerContainer(image='f:1')", "docker-container"),
        (KubernetesFlowRunner(namespace="a"), "KubernetesJob(namespace='a')", "kubernetes-job"),
    ],
)
def test_deployment_flow_runner_for_docker_and_kubernetes(
    runner: shipway.flow_runners.FlowRunner, replacement: str, type_name: str
) -> None:
    expected = re.escape(f"use infrastructure={replacement} (from shipway.infrastructure")
    with pytest.warns(DeprecationWarning, match=expected):
        deployment = Deployment(name="example", flow=hello, flow_runner=runner)
    assert deployment.infrastructure["type"] == type_name


def test_deployment_flow_runner_passes_on_conversion_warnings() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Deployment(
            name="example",
            flow=hello,
            flow_runner=SubprocessFlowRunner(env={"PREFECT_API_URL": "http://x"}),
        )
    assert [type(w.message) for w in caught] == [FlowRunnerConversionWarning, DeprecationWarning]
    assert "PREFECT_API_URL" in str(caught[0].message)
    assert all(w.filename == __file__ for w in caught)


def test_deployment_rejects_flow_runner_and_infrastructure_together() -> None:
    with pytest.raises(TypeError, match="both flow_runner= and infrastructure="):
        Deployment(
            name="example",
            flow=hello,
            infrastructure="process",
            flow_runner=SubprocessFlowRunner(),
        )


def test_deployment_rejects_a_flow_runner_that_is_not_one() -> None:
    with pytest.raises(ValidationError, match="flow_runner"):
        Deployment(name="example", flow=hello, flow_runner={"type": "process"})


def test_deployment_without_flow_runner_warns_nothing() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Deployment(name="example", flow=hello, infrastructure={"type": "process"})


# -- deployment files --------------------------------------------------------------------


@pytest.mark.usefixtures("isolated_imports")
def test_python_deployment_file_with_flow_runner_loads_and_warns(write: Write) -> None:
    write("flows/hello.py", HELLO)
    path = write(
        "deployments.py",
        """
        from shipway import Deployment
        from shipway.flow_runners import DockerFlowRunner, ImagePullPolicy
        from flows.hello import hello_world

        Deployment(
            name="example",
            flow=hello_world,
            flow_runner=DockerFlowRunner(image="f:1", image_pull_policy=ImagePullPolicy.NEVER),
        )
        """,
    )
    with pytest.warns(DeprecationWarning, match="flow_runner=DockerFlowRunner") as caught:
        source = load_deployment_file(path)
    assert caught.list[0].filename == str(path)
    assert caught.list[0].lineno == 5
    assert source.get("example").infrastructure == {
        "type": "docker-container",
        "image": "f:1",
        "image_pull_policy": "never",
    }


def test_yaml_never_had_flow_runner(write: Write) -> None:
    path = write(
        "shipway.yaml",
        """
        deployments:
          - name: example
            flow: flows/hello.py:hello_world
            flow_runner: {type: subprocess}
        """,
    )
    with pytest.raises(ConfigError, match=r"shipway.yaml:4: deployments\[0\].flow_runner"):
        load_deployment_file(path)


@pytest.mark.usefixtures("isolated_imports")
def test_converted_runner_whose_plugin_is_missing_says_what_to_install(
    write: Write, registry: PluginRegistry
) -> None:
    if any(ep.name == "kubernetes-job" for ep in entry_points(group="shipway.infrastructure")):
        pytest.skip("shipway-kubernetes is installed here; this needs a plugin that is not")
    write("flows/hello.py", HELLO)
    path = write(
        "deployments.py",
        """
        from shipway import Deployment
        from shipway.flow_runners import KubernetesFlowRunner
        from flows.hello import hello_world

        Deployment(name="example", flow=hello_world, flow_runner=KubernetesFlowRunner())
        """,
    )
    with pytest.warns(DeprecationWarning):
        source = load_deployment_file(path)  # converting needs no plugin...
    with pytest.raises(ConfigError) as caught:  # ... running does, and says which
        resolve_infrastructure(source.get("example"), source, registry=registry)
    assert "unknown infrastructure 'kubernetes-job'" in str(caught.value)
    assert "is provided by shipway-kubernetes" in str(caught.value)
