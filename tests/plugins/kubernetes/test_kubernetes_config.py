"""The kubernetes-job fields and the Job manifest they make: no cluster needed.

Every manifest shape the plugin produces is held to the official Kubernetes schemas,
strictly (kubernetes-validate), with and without customizations.
"""

from __future__ import annotations

import base64
import gzip
import json
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml
from pydantic import ValidationError

from shipway.exit_status import ExitStatus
from shipway.infrastructure import (
    InfrastructureError,
    InfrastructureUnreachable,
    Job,
    ReattachesRuns,
)
from shipway.plugins import get_registry
from shipway_kubernetes import KubernetesJob
from shipway_kubernetes._cluster import describe_api_error, missing_permission
from shipway_kubernetes._fields import default_image, job_name, label_value
from shipway_kubernetes._handover import compress_job, job_secret_manifest
from shipway_kubernetes._identifier import format_identifier, parse_identifier
from shipway_kubernetes._lifecycle import as_model
from shipway_kubernetes._manifest import RUN_LABEL

SCHEMA_VERSION = "1.30.0"
FLOW_RUN_LABEL = "shipway.io/flow-run-id"  # documented (docs/plugins/kubernetes.md)
RUN_ID = "3f2b8c1e-5a4d-4e7f-9c1b-2d3e4f5a6b7c"


def validate_strictly(manifest: dict[str, Any]) -> None:
    """The official schema, no unknown fields (raises on any problem)."""
    import kubernetes_validate

    kubernetes_validate.validate(manifest, SCHEMA_VERSION, strict=True)


def a_job(**changes: Any) -> Job:
    return Job(
        entrypoint="flows/hello.py:hello",
        flow_run_id=RUN_ID,
        flow_name="Hello World_Flow",
        deployment_name="nightly/etl",
        parameters={"name": "k8s"},
        working_dir="/home/me/project",
    ).replace(**changes)


def manifest_of(infrastructure: KubernetesJob, job: Job | None = None) -> dict[str, Any]:
    return infrastructure.job_manifest(job or a_job())


def container_of(manifest: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = manifest["spec"]["template"]["spec"]["containers"][0]
    return container


SHAPES: dict[str, dict[str, Any]] = {
    "defaults": {},
    "every field": {
        "name": "Nightly ETL!",
        "namespace": "flows",
        "service_account_name": "shipway-runner",
        "image": "registry.example.com:5000/team/flows:1.2",
        "image_pull_policy": "if_not_present",
        "env": {
            "PLAIN": "1",
            "API_TOKEN": "hunter2",
            "DB_PASSWORD": {"secretKeyRef": {"name": "db", "key": "password"}},
            "NODE": {"valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            "DROPPED": None,
        },
        "labels": {"team": "data"},
        "annotations": {"example.com/owner": "data team"},
        "cpu_request": "500m",
        "cpu_limit": 2,
        "memory_request": "256Mi",
        "memory_limit": "1Gi",
        "backoff_limit": 2,
        "finished_job_ttl": 600,
        "command": ["python", "-m", "shipway.engine", "--verbose"],
    },
    "base manifest with sidecar": {
        "job": {
            "metadata": {"labels": {"from-base": "yes"}},
            "spec": {
                "activeDeadlineSeconds": 7200,
                "template": {
                    "spec": {
                        "nodeSelector": {"pool": "flows"},
                        "tolerations": [{"key": "batch", "operator": "Exists"}],
                        "containers": [
                            {"name": "main", "env": [{"name": "KEEP", "value": "k"}]},
                            {"name": "proxy", "image": "proxy:1"},
                        ],
                    }
                },
            },
        },
        "env": {"EXTRA": "x"},
    },
    "with customizations": {
        "customizations": [
            {"op": "add", "path": "/spec/activeDeadlineSeconds", "value": 3600},
            {"op": "add", "path": "/spec/template/spec/nodeSelector", "value": {"a": "b"}},
            {
                "op": "add",
                "path": "/spec/template/spec/containers/0/env/-",
                "value": {"name": "PATCHED", "value": "yes"},
            },
            {"op": "replace", "path": "/spec/backoffLimit", "value": 1},
        ],
    },
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_manifest_shape_is_a_valid_job_by_the_official_schema(shape: str) -> None:
    infrastructure = KubernetesJob(**SHAPES[shape])
    for job in (a_job(), Job(entrypoint="x.py:f"), infrastructure.preview_job(None)):
        manifest = manifest_of(infrastructure, job)
        validate_strictly(manifest)
        as_model(manifest, _to_dict)  # the client's model keeps every key we send
    validate_strictly(yaml.safe_load(infrastructure.preview()))


def _to_dict(model: Any) -> Any:
    from kubernetes import client

    return client.ApiClient().sanitize_for_serialization(model)


def test_the_manifest_runs_the_engine_with_the_job_handed_over() -> None:
    manifest = manifest_of(KubernetesJob(image="flows:1"))

    assert (manifest["apiVersion"], manifest["kind"]) == ("batch/v1", "Job")
    assert manifest["spec"]["backoffLimit"] == 0
    pod = manifest["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    container = container_of(manifest)
    assert container["name"] == "shipway"
    assert container["image"] == "flows:1"
    assert container["command"] == ["python", "-m", "shipway.engine"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    handed_over = json.loads(env["SHIPWAY_FLOW_RUN"])
    assert handed_over["flow_run_id"] == RUN_ID
    assert handed_over["parameters"] == {"name": "k8s"}
    assert handed_over["working_dir"] is None  # the image's working directory
    assert env["PYTHONUNBUFFERED"] == "1"
    assert "imagePullPolicy" not in container  # Kubernetes' own default


@pytest.mark.parametrize("users_value", ["bogus", json.dumps({"entrypoint": "x.py:y"}), None])
def test_the_job_handover_wins_over_an_env_entry_of_the_same_name(
    users_value: str | None,
) -> None:
    infrastructure = KubernetesJob(env={"SHIPWAY_FLOW_RUN": users_value, "PLAIN": "1"})

    env = container_of(manifest_of(infrastructure))["env"]

    handed_over = [item for item in env if item["name"] == "SHIPWAY_FLOW_RUN"]
    in_the_image = a_job(working_dir=None)  # the image's working directory
    assert handed_over == [{"name": "SHIPWAY_FLOW_RUN", "value": in_the_image.to_json()}]
    assert {"name": "PLAIN", "value": "1"} in env


def a_large_job(size: int = 256 * 1024) -> Job:
    """Too large for an environment variable; pseudo-random, so it compresses as data does."""
    blob = base64.b64encode(random.Random(size).randbytes(size)).decode()[:size]
    return a_job(parameters={"blob": blob})


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_large_jobs_manifest_and_secret_are_valid_by_the_official_schema(shape: str) -> None:
    infrastructure = KubernetesJob(**SHAPES[shape])
    large = a_large_job()

    manifest = manifest_of(infrastructure, large)
    secret = job_secret_manifest(manifest, "0f3a9c2e-uid", compress_job(large.to_json().encode()))

    validate_strictly(manifest)
    as_model(manifest, _to_dict)
    validate_strictly(secret)
    validate_strictly(yaml.safe_load(infrastructure.preview(large)))


def test_a_large_job_is_mounted_from_a_secret_the_job_owns() -> None:
    large = a_large_job()
    manifest = manifest_of(KubernetesJob(env={"SHIPWAY_FLOW_RUN_FILE": "/not/it"}), large)
    name = manifest["metadata"]["name"]

    container = container_of(manifest)
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert "SHIPWAY_FLOW_RUN" not in env
    assert env["SHIPWAY_FLOW_RUN_FILE"] == "/var/run/shipway/job/job.json.gz"
    assert container["volumeMounts"] == [
        {"name": "shipway-job", "mountPath": "/var/run/shipway/job", "readOnly": True}
    ]
    assert manifest["spec"]["template"]["spec"]["volumes"] == [
        {"name": "shipway-job", "secret": {"secretName": f"{name}-job"}}
    ]
    in_the_image = large.replace(working_dir=None)  # the image's working directory
    secret = job_secret_manifest(manifest, "uid-1", compress_job(in_the_image.to_json().encode()))
    assert secret["metadata"]["name"] == f"{name}-job"
    assert secret["metadata"]["ownerReferences"] == [
        {"apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": "uid-1"}
    ]
    assert secret["metadata"]["labels"][RUN_LABEL] == name
    content = gzip.decompress(base64.b64decode(secret["data"]["job.json.gz"]))
    assert Job.from_json(content.decode()) == in_the_image


def test_the_preview_of_a_large_job_names_its_secret_and_shows_no_job() -> None:
    large = a_large_job()

    preview = KubernetesJob().preview(large)

    assert large.parameters["blob"][:40] not in preview
    assert "SHIPWAY_FLOW_RUN_FILE" in preview
    assert re.search(r"^# and Secret \S+-job, owned by the Job: the job", preview, re.M)


def test_a_job_too_large_even_for_a_secret_is_refused_before_the_cluster_is_contacted(
    tmp_path: Path,
) -> None:
    huge = a_large_job(2 * 1024 * 1024)  # random text: about 1.5 MiB compressed
    infrastructure = KubernetesJob(kubeconfig=tmp_path / "no-such-kubeconfig")

    with pytest.raises(InfrastructureError) as caught:
        anyio.run(infrastructure.run, huge)

    assert "too large to hand over on Kubernetes" in caught.value.message
    assert "a Secret holds at most 1048576" in caught.value.message
    assert caught.value.hint is not None and "by reference" in caught.value.hint


def test_names_and_labels_follow_kubernetes_rules() -> None:
    manifest = manifest_of(KubernetesJob(), a_job(flow_name="A" * 80 + "_Flow"))
    name = manifest["metadata"]["name"]

    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name)
    assert len(name) <= 63
    assert name.startswith("a") and "-3f2b8c1e-" in name
    labels = manifest["metadata"]["labels"]
    assert labels[RUN_LABEL] == name
    assert labels[FLOW_RUN_LABEL] == RUN_ID
    assert manifest["spec"]["template"]["metadata"]["labels"][RUN_LABEL] == name
    for value in labels.values():
        assert len(value) <= 63


def test_each_run_of_one_flow_run_gets_its_own_job_name() -> None:
    names = {job_name(None, "hello", RUN_ID) for _ in range(20)}
    assert len(names) > 1  # retries of one flow run keep the same run id


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Hello World_Flow", "Hello-World_Flow"), ("<flow-run-id>", "flow-run-id"), ("-x-", "x")],
)
def test_label_values_are_made_valid(text: str, expected: str) -> None:
    assert label_value(text) == expected


def test_name_field_names_the_job() -> None:
    manifest = manifest_of(KubernetesJob(name="Nightly ETL!"))
    assert manifest["metadata"]["name"].startswith("nightly-etl-3f2b8c1e-")


def test_every_field_lands_where_kubernetes_reads_it() -> None:
    manifest = manifest_of(KubernetesJob(**SHAPES["every field"]))
    container = container_of(manifest)
    pod = manifest["spec"]["template"]["spec"]

    assert manifest["metadata"]["namespace"] == "flows"
    assert pod["serviceAccountName"] == "shipway-runner"
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "256Mi"},
        "limits": {"cpu": "2", "memory": "1Gi"},
    }
    assert manifest["spec"]["backoffLimit"] == 2
    assert manifest["spec"]["ttlSecondsAfterFinished"] == 600
    assert manifest["metadata"]["labels"]["team"] == "data"
    assert manifest["metadata"]["annotations"] == {"example.com/owner": "data team"}
    assert manifest["spec"]["template"]["metadata"]["annotations"] == {
        "example.com/owner": "data team"
    }
    env = {item["name"]: item for item in container["env"]}
    assert env["PLAIN"] == {"name": "PLAIN", "value": "1"}
    assert env["DB_PASSWORD"]["valueFrom"] == {"secretKeyRef": {"name": "db", "key": "password"}}
    assert env["NODE"]["valueFrom"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}
    assert "DROPPED" not in env
    assert container["command"][-1] == "--verbose"


def test_a_base_manifest_keeps_its_settings_and_sidecars() -> None:
    manifest = manifest_of(KubernetesJob(**SHAPES["base manifest with sidecar"]))
    pod = manifest["spec"]["template"]["spec"]

    assert manifest["spec"]["activeDeadlineSeconds"] == 7200
    assert pod["nodeSelector"] == {"pool": "flows"}
    assert [c["name"] for c in pod["containers"]] == ["main", "proxy"]
    assert pod["containers"][1] == {"name": "proxy", "image": "proxy:1"}
    env = [item["name"] for item in pod["containers"][0]["env"]]
    assert env[0] == "KEEP" and "EXTRA" in env and "SHIPWAY_FLOW_RUN" in env
    assert manifest["metadata"]["labels"]["from-base"] == "yes"
    base = SHAPES["base manifest with sidecar"]["job"]
    assert "name" not in base.get("metadata", {})  # the base is never changed


def test_the_base_manifest_can_come_from_a_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text("spec:\n  template:\n    spec:\n      priorityClassName: batch\n")

    infrastructure = KubernetesJob(job=str(path))

    assert manifest_of(infrastructure)["spec"]["template"]["spec"]["priorityClassName"] == "batch"


def test_an_unreadable_job_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="cannot read the job manifest"):
        KubernetesJob(job=str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n")
    with pytest.raises(ValidationError, match="must hold one mapping"):
        KubernetesJob(job=str(bad))


def test_customizations_are_applied_last() -> None:
    manifest = manifest_of(KubernetesJob(**SHAPES["with customizations"]))
    assert manifest["spec"]["activeDeadlineSeconds"] == 3600
    assert manifest["spec"]["backoffLimit"] == 1
    assert container_of(manifest)["env"][-1] == {"name": "PATCHED", "value": "yes"}


def test_customizations_can_be_a_json_string() -> None:
    patch = json.dumps([{"op": "add", "path": "/spec/parallelism", "value": 1}])
    assert manifest_of(KubernetesJob(customizations=patch))["spec"]["parallelism"] == 1


@pytest.mark.parametrize(
    ("patches", "message"),
    [
        (
            [{"op": "add", "path": "/spec/x", "value": 1}, {"op": "remove", "path": "/nope"}],
            r"customizations\[1\] \(remove /nope\) cannot be applied",
        ),
        (
            [{"op": "remove", "path": "/spec/template/spec/containers"}],
            r"customizations\[0\] \(remove /spec/template/spec/containers\) makes the Job "
            r"invalid: spec.template.spec.containers must be a non-empty list",
        ),
        (
            [{"op": "replace", "path": "/spec/template/spec/restartPolicy", "value": "Always"}],
            r"customizations\[0\].*restartPolicy must be Never or OnFailure",
        ),
        (
            [{"op": "add", "path": "/metadata/labels/bad", "value": "not valid!"}],
            r"customizations\[0\].*not a valid label value",
        ),
        ([{"op": "frobnicate", "path": "/spec"}], r"customizations\[0\] \(frobnicate /spec\)"),
        ([{"path": "/spec"}], r"customizations\[0\]"),
        ("{not json", "customizations is not valid JSON"),
    ],
)
def test_a_patch_that_breaks_the_job_is_one_error_naming_it(patches: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        KubernetesJob(customizations=patches)


def test_a_patch_with_a_field_kubernetes_does_not_know_is_refused_before_sending() -> None:
    infrastructure = KubernetesJob(
        customizations=[{"op": "add", "path": "/spec/template/spec/nodeSelectr", "value": {}}]
    )
    with pytest.raises(InfrastructureError, match=r"spec.template.spec.nodeSelectr"):
        as_model(manifest_of(infrastructure), _to_dict)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"image_pull_policy": "sometimes"}, "use Always, IfNotPresent or Never"),
        ({"cpu_request": "lots"}, "not a Kubernetes quantity"),
        ({"memory_limit": "1 gigabyte"}, "not a Kubernetes quantity"),
        ({"namespace": "Flows_Prod"}, "not a valid namespace name"),
        ({"env": {"X": {"secretRef": {"name": "a"}}}}, "exactly one of configMapKeyRef"),
        ({"backoff_limit": -1}, "greater than or equal to 0"),
        ({"job_watch_timeout_seconds": 0}, "greater than 0"),
        ({"job": {"spec": {"template": "nope"}}}, "spec.template must be a mapping"),
        ({"image": " "}, "image must name an image"),
        ({"volumes": ["a:b"]}, "Extra inputs are not permitted"),
    ],
)
def test_bad_fields_are_one_clear_error(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        KubernetesJob(**fields)


@pytest.mark.parametrize(
    "spelling", ["Always", "always", "IfNotPresent", "if_not_present", "NEVER"]
)
def test_pull_policies_take_any_spelling(spelling: str) -> None:
    policy = KubernetesJob(image_pull_policy=spelling).image_pull_policy
    assert policy in ("Always", "IfNotPresent", "Never")


def test_the_default_image_follows_the_docker_plugins_convention() -> None:
    assert KubernetesJob().image == default_image()
    assert re.fullmatch(r"shipway-runtime:\S+-python3\.\d+", default_image())


def test_preview_is_yaml_with_secrets_masked_and_stable() -> None:
    infrastructure = KubernetesJob(**SHAPES["every field"])

    text = infrastructure.preview(a_job())

    assert text == infrastructure.preview(a_job())
    assert "hunter2" not in text
    shown = yaml.safe_load(text)
    env = {item["name"]: item for item in container_of(shown)["env"]}
    assert env["API_TOKEN"]["value"] == "********"
    assert env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "db"
    validate_strictly(shown)


def test_the_configuration_survives_a_json_round_trip(tmp_path: Path) -> None:
    original = KubernetesJob(kubeconfig=tmp_path / "config", **SHAPES["every field"])
    copy = KubernetesJob.model_validate_json(original.model_dump_json())
    assert copy == original


def test_the_type_is_resolved_by_name_and_reattaches_runs() -> None:
    assert get_registry().resolve("kubernetes-job") is KubernetesJob
    assert isinstance(KubernetesJob(), ReattachesRuns)


def test_identifiers_round_trip_and_bad_ones_are_refused() -> None:
    identifier = format_identifier("c2819745-ca7d", "flows", "hello-3f2b8c1e-a1b2c")
    assert parse_identifier(identifier) == ("c2819745-ca7d", "flows", "hello-3f2b8c1e-a1b2c")
    for bad in ("host:1234", "uid:Flows:job", "uid:ns:", ":ns:job", "a:b:c:d"):
        with pytest.raises(InfrastructureError, match="not a Kubernetes Job identifier"):
            parse_identifier(bad)


def _api_exception(status: int, body: dict[str, Any]) -> Exception:
    from kubernetes.client.exceptions import ApiException

    exc = ApiException(status=status, reason="Forbidden" if status == 403 else "Not Found")
    exc.body = json.dumps(body)
    return exc


FORBIDDEN = {
    "kind": "Status",
    "status": "Failure",
    "message": 'jobs.batch is forbidden: User "system:serviceaccount:flows:agent" cannot '
    'create resource "jobs" in API group "batch" in the namespace "flows"',
    "reason": "Forbidden",
    "details": {"group": "batch", "kind": "jobs"},
    "code": 403,
}


def test_a_403_says_which_permission_is_missing() -> None:
    error = describe_api_error(_api_exception(403, FORBIDDEN), "https://k8s", "creating Job x")

    assert error.message.startswith("permission denied while creating Job x: ")
    assert "'create' on 'jobs.batch' in namespace flows" in error.message
    assert "system:serviceaccount:flows:agent" in error.message
    assert error.hint is not None and "RBAC" in error.hint


def test_missing_permission_reads_cluster_scoped_denials() -> None:
    status = {
        "message": 'namespaces "kube-system" is forbidden: User "bob" cannot get resource '
        '"namespaces" in API group "" at the cluster scope',
        "details": {"name": "kube-system", "kind": "namespaces"},
    }
    assert "'get' on 'namespaces' at the cluster scope" in (missing_permission(status) or "")


def test_a_missing_namespace_is_named() -> None:
    body = {
        "message": 'namespaces "nope" not found',
        "reason": "NotFound",
        "details": {"name": "nope", "kind": "namespaces"},
        "code": 404,
    }
    error = describe_api_error(_api_exception(404, body), "https://k8s", "creating Job x")
    assert error.message == "the namespace 'nope' does not exist on the cluster at https://k8s"
    assert error.hint is not None and "kubectl create namespace nope" in error.hint


def test_a_401_asks_for_fresh_credentials_without_showing_them() -> None:
    error = describe_api_error(_api_exception(401, {}), "https://k8s", "reading")
    assert "401 Unauthorized" in error.message


def test_no_answer_from_the_api_server_is_unreachable_not_a_mistake() -> None:
    refused = ConnectionRefusedError(111, "Connection refused")
    error = describe_api_error(refused, "https://k8s", "creating Job x")
    assert isinstance(error, InfrastructureUnreachable)
    assert error.exit_code == ExitStatus.CANNOT_START
    assert "cannot reach the Kubernetes API server at https://k8s" in error.message
    answered = describe_api_error(_api_exception(401, {}), "https://k8s", "reading")
    assert not isinstance(answered, InfrastructureUnreachable)


def test_a_missing_kubeconfig_is_one_clear_error(tmp_path: Path) -> None:
    import anyio

    infrastructure = KubernetesJob(kubeconfig=tmp_path / "nope", namespace="flows")
    with pytest.raises(InfrastructureError, match="cannot load the Kubernetes kubeconfig"):
        anyio.run(infrastructure.kill, "uid:flows:job", 1)


def test_importing_the_plugin_does_not_import_the_kubernetes_client() -> None:
    code = (
        "import sys, shipway_kubernetes.plugin; "
        "print(any(m == 'kubernetes' or m.startswith('kubernetes.') for m in sys.modules))"
    )
    printed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert printed.strip() == "False"
