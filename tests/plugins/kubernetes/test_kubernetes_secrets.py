"""Secret references on Kubernetes: the cluster reads them from its own Secrets
(``secretKeyRef``), so neither the agent nor the store ever holds the value."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from test_kubernetes_config import a_job, container_of, validate_strictly

from shipway import SecretRef
from shipway.deployments import parse_override_args
from shipway.infrastructure import resolve_secrets
from shipway_kubernetes import KubernetesJob


def env_of(infrastructure: KubernetesJob) -> dict[str, dict[str, Any]]:
    manifest = infrastructure.job_manifest(a_job())
    validate_strictly(manifest)
    return {item["name"]: item for item in container_of(manifest)["env"]}


def test_a_reference_becomes_a_secret_key_ref_with_key_value() -> None:
    env = env_of(KubernetesJob(env={"DB_PASSWORD": {"secret": "db-password"}}))

    assert env["DB_PASSWORD"] == {
        "name": "DB_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": "db-password", "key": "value"}},
    }


def test_name_slash_key_names_the_key_and_python_references_work_too() -> None:
    env = env_of(KubernetesJob(env={"WAREHOUSE": SecretRef("warehouse.creds/password")}))

    assert env["WAREHOUSE"]["valueFrom"]["secretKeyRef"] == {
        "name": "warehouse.creds",
        "key": "password",
    }


def test_an_override_reference_maps_the_same_way() -> None:
    overrides = parse_override_args(["env.RUN_TOKEN={secret: run-token}"])
    infrastructure = KubernetesJob.model_validate(overrides)

    assert env_of(infrastructure)["RUN_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "run-token"


def test_the_agent_leaves_references_to_the_cluster() -> None:
    infrastructure = KubernetesJob(env={"DB_PASSWORD": {"secret": "db-password"}})

    secrets = resolve_secrets(infrastructure, read=pytest.fail)  # nothing is read here

    assert secrets.infrastructure.env["DB_PASSWORD"] == SecretRef("db-password")
    assert secrets.values == frozenset()


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("DB_Password", "cannot name a Kubernetes Secret"),
        ("db/bad key", "is not a secret name"),
    ],
)
def test_a_reference_kubernetes_cannot_read_is_refused_up_front(
    reference: str, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        KubernetesJob(env={"X": {"secret": reference}})


def test_the_preview_shows_the_reference_not_a_value() -> None:
    text = KubernetesJob(env={"DB_PASSWORD": {"secret": "db-password"}}).preview(a_job())

    assert "secretKeyRef" in text and "db-password" in text


@pytest.mark.real_cluster
def test_a_flow_reads_a_referenced_secret_from_the_cluster(
    kube_cluster: Any, kube_namespace: str, runtime_image: str
) -> None:
    import json

    from _kube_jobs import bounded, kube_job
    from kubernetes import client

    from shipway.testing import FlowJobs, run_job

    kube_cluster.core().create_namespaced_secret(
        kube_namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name="flow-secret"), string_data={"value": "from secret"}
        ),
    )
    infrastructure = kube_job(kube_cluster, kube_namespace, runtime_image).model_copy(
        update={"env": {"SHIPWAY_CONFORMANCE_VALUE": SecretRef("flow-secret")}}
    )

    finished = bounded(run_job, infrastructure, FlowJobs().echo("hi"))

    assert finished.result.status_code == 0, finished.output.text()
    line = next(s for s in finished.output.text().splitlines() if s.startswith("shipway-echo: "))
    assert json.loads(line.removeprefix("shipway-echo: "))["value"] == "from secret"
