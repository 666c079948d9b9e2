"""The RBAC Role the docs give for an agent is enough: run, stream, diagnose and kill.

The manifests are read from docs/plugins/kubernetes.md itself, so the page cannot drift
from what the plugin needs. The test identity is a service account of the test's
namespace, authenticated by its token (local stack only: newer clusters make no token
secrets, and granting cluster roles needs an administrator).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from _kube_jobs import bounded, kube_job, leftovers
from _kube_stack import ROOT, KubeCluster

from shipway.infrastructure import output_sink
from shipway.testing import FlowJobs, RecordingSink, run_job, started
from shipway_kubernetes import KubernetesJob

DOCS = ROOT / "docs" / "plugins" / "kubernetes.md"
DOCUMENTED_NAMESPACE = "flows"
DOCUMENTED_ACCOUNT = "shipway-agent"
FLOWS = FlowJobs()


def documented_rbac() -> list[dict[str, Any]]:
    """The YAML documents of the docs' RBAC section, in order."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("\n## RBAC", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, flags=re.DOTALL)
    return [doc for block in blocks for doc in yaml.safe_load_all(block) if doc]


def test_the_docs_grant_what_the_plugin_uses() -> None:
    kinds = [doc["kind"] for doc in documented_rbac()]
    assert kinds == ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"]


def for_namespace(document: dict[str, Any], namespace: str, suffix: str) -> dict[str, Any]:
    """The documented object for the test's namespace; cluster-wide names made unique."""
    text = json.dumps(document).replace(f'"{DOCUMENTED_NAMESPACE}"', f'"{namespace}"')
    adapted: dict[str, Any] = json.loads(text)
    if adapted["kind"].startswith("Cluster"):
        adapted["metadata"]["name"] += f"-{suffix}"
        if adapted["kind"] == "ClusterRoleBinding":
            adapted["roleRef"]["name"] += f"-{suffix}"
    return adapted


@pytest.fixture
def agent_kubeconfig(
    kube_cluster: KubeCluster, kube_namespace: str, tmp_path: Path
) -> Iterator[Path]:
    """A kubeconfig for the service account shipway-agent, bound as the docs say."""
    if kube_cluster.real or kube_cluster.stack_dir is None:
        pytest.skip("needs the local stack (token secrets, cluster roles)")
    from kubernetes import client, utils

    api = kube_cluster.api_client()
    core = kube_cluster.core()
    core.create_namespaced_service_account(
        kube_namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="shipway-agent"))
    )
    suffix = uuid.uuid4().hex[:8]
    documents = [for_namespace(doc, kube_namespace, suffix) for doc in documented_rbac()]
    for document in documents:
        utils.create_from_dict(api, document)  # type: ignore[no-untyped-call]  # untyped
    try:
        token = wait_for_token(core, kube_namespace)
        admin = yaml.safe_load(kube_cluster.kubeconfig.read_text(encoding="utf-8"))
        admin["users"] = [{"name": DOCUMENTED_ACCOUNT, "user": {"token": token}}]
        for context in admin["contexts"]:
            context["context"]["user"] = DOCUMENTED_ACCOUNT
        path = tmp_path / "agent.kubeconfig"
        path.write_text(json.dumps(admin), encoding="utf-8")
        yield path
    finally:
        rbac = client.RbacAuthorizationV1Api(api)
        for document in documents:
            if document["kind"] == "ClusterRoleBinding":
                rbac.delete_cluster_role_binding(document["metadata"]["name"])
            elif document["kind"] == "ClusterRole":
                rbac.delete_cluster_role(document["metadata"]["name"])


def wait_for_token(core: Any, namespace: str) -> str:
    """The token the token controller made for shipway-agent (Kubernetes 1.20)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        account = core.read_namespaced_service_account(DOCUMENTED_ACCOUNT, namespace)
        for reference in account.secrets or []:
            secret = core.read_namespaced_secret(reference.name, namespace)
            if secret.data and secret.data.get("token"):
                return base64.b64decode(secret.data["token"]).decode()
        time.sleep(0.2)
    raise AssertionError(f"no token for {DOCUMENTED_ACCOUNT} in {namespace}")


def test_the_documented_role_runs_streams_and_kills(
    kube_cluster: KubeCluster, kube_namespace: str, runtime_image: str, agent_kubeconfig: Path
) -> None:
    agent = kube_job(kube_cluster, kube_namespace, runtime_image, kubeconfig=agent_kubeconfig)

    finished = bounded(run_job, agent, FLOWS.hello("rbac"))

    assert finished.result.status_code == 0, finished.output.text()
    assert "Hello, rbac!" in finished.output.text()

    sink = RecordingSink()

    async def start_then_kill() -> None:
        async with started(agent, FLOWS.sleeper(), sink) as handle:
            await sink.wait_for(b"started", timeout=60)
            await KubernetesJob.model_validate_json(agent.model_dump_json()).kill(
                handle.identifier, 2
            )

    bounded(start_then_kill)
    assert "cleanup" in sink.text()


def test_the_documented_role_runs_a_job_too_large_for_an_environment_variable(
    kube_cluster: KubeCluster, kube_namespace: str, runtime_image: str, agent_kubeconfig: Path
) -> None:
    """It goes in a Secret the agent creates (docs: Large jobs)."""
    agent = kube_job(kube_cluster, kube_namespace, runtime_image, kubeconfig=agent_kubeconfig)
    data = "large " * 40_000  # 240,000 characters

    finished = bounded(run_job, agent, FLOWS.digest(data))

    digest = hashlib.sha256(data.encode()).hexdigest()
    assert finished.result.status_code == 0, finished.output.text()[-2000:]
    assert f"shipway-digest: {len(data)} {digest}\n" in finished.output.text()


def test_the_documented_role_can_read_the_events_of_a_run_that_cannot_start(
    kube_cluster: KubeCluster, kube_namespace: str, runtime_image: str, agent_kubeconfig: Path
) -> None:
    agent = kube_job(
        kube_cluster, kube_namespace, runtime_image, kubeconfig=agent_kubeconfig
    ).model_copy(update={"image": "shipway-test/does-not-exist:1"})
    sink = RecordingSink()

    async def go() -> None:
        with output_sink(sink):
            await agent.run(FLOWS.hello())

    with pytest.raises(Exception, match="could not start the flow: ErrImage"):
        bounded(go)
    assert "Kubernetes events:" in sink.text()
    deadline = time.monotonic() + 60
    while leftovers(kube_cluster, kube_namespace):
        assert time.monotonic() < deadline, leftovers(kube_cluster, kube_namespace)
        time.sleep(0.2)
