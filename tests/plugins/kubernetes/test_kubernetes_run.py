"""kubernetes-job against a real control plane: flows run in real containers through Jobs.

Marked ``real_cluster``: they run, unchanged, against a real cluster too
(``SHIPWAY_TEST_KUBECONFIG``, or ``KUBECONFIG`` with ``pytest -m real_cluster``); the
fault-proxy tests skip there.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from _fault_proxy import FaultProxy
from _kube_jobs import bounded, kube_job, leftovers
from _kube_stack import KubeCluster

from shipway.infrastructure import (
    InfrastructureError,
    InfrastructureNotAvailable,
    InfrastructureNotFound,
    Job,
    output_sink,
)
from shipway.testing import FlowJobs, RecordingSink, run_job, started
from shipway_kubernetes import KubernetesJob
from shipway_kubernetes._identifier import parse_identifier

pytestmark = pytest.mark.real_cluster

FLOWS = FlowJobs()
COUNTING = (
    "import time\n"
    "for i in range({count}):\n"
    "    print(f'line {{i:03d}}', flush=True)\n"
    "    time.sleep({pause})\n"
)


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def cannot_run(infrastructure: KubernetesJob, job: Job) -> tuple[InfrastructureError, str]:
    """Run ``job``, which must fail to start: (the error, what was written to the output)."""
    sink = RecordingSink()

    async def go() -> None:
        with output_sink(sink), anyio.fail_after(120):
            await infrastructure.run(job)

    with pytest.raises(InfrastructureError) as raised:
        bounded(go)
    return raised.value, sink.text()


@pytest.fixture
def k8s(kube_cluster: KubeCluster, kube_namespace: str, runtime_image: str) -> KubernetesJob:
    return kube_job(kube_cluster, kube_namespace, runtime_image)


# -- runs -------------------------------------------------------------------------------


def test_hello_flow_runs_end_to_end_in_a_job(
    k8s: KubernetesJob, kube_cluster: KubeCluster, kube_namespace: str
) -> None:
    finished = bounded(run_job, k8s, FLOWS.hello("kubernetes"))

    assert finished.result.status_code == 0, finished.output.text()
    assert finished.output.text("stdout") == "Hello, kubernetes!\n"
    cluster_uid, namespace, job_name = parse_identifier(finished.identifier)
    assert namespace == kube_namespace
    assert cluster_uid == kube_cluster.core().read_namespace("kube-system").metadata.uid
    job = kube_cluster.batch().read_namespaced_job(job_name, namespace)
    assert job.metadata.labels["shipway.io/run"] == job_name
    assert job.status.succeeded == 1


def test_a_large_job_arrives_through_a_secret_the_cluster_deletes_with_its_job(
    k8s: KubernetesJob, kube_cluster: KubeCluster, kube_namespace: str
) -> None:
    data = "".join(chr(0x61 + (i * 7) % 26) for i in range(300 * 1024))  # over 128 KiB

    finished = bounded(run_job, k8s, FLOWS.digest(data))

    digest = hashlib.sha256(data.encode()).hexdigest()
    assert finished.result.status_code == 0, finished.output.text()[-2000:]
    assert f"shipway-digest: {len(data)} {digest}\n" in finished.output.text()
    _, namespace, job_name = parse_identifier(finished.identifier)
    secret = kube_cluster.core().read_namespaced_secret(f"{job_name}-job", namespace)
    [owner] = secret.metadata.owner_references
    assert (owner.kind, owner.name) == ("Job", job_name)
    kube_cluster.batch().delete_namespaced_job(job_name, namespace, propagation_policy="Background")
    wait_for(
        "the garbage collector to delete the Secret with its Job",
        lambda: (
            not kube_cluster.core()
            .list_namespaced_secret(namespace, field_selector=f"metadata.name={job_name}-job")
            .items
        ),
    )


def test_parameters_and_env_arrive_including_value_from(
    k8s: KubernetesJob, kube_cluster: KubeCluster, kube_namespace: str
) -> None:
    from kubernetes import client

    kube_cluster.core().create_namespaced_config_map(
        kube_namespace,
        client.V1ConfigMap(metadata=client.V1ObjectMeta(name="settings"), data={"v": "from map"}),
    )
    configured = k8s.model_copy(
        update={
            "env": {
                "SHIPWAY_CONFORMANCE_VALUE": {"configMapKeyRef": {"name": "settings", "key": "v"}},
                "PLAIN": "plain value",
            }
        }
    )
    finished = bounded(run_job, configured, FLOWS.echo("hi", count=2, items=[1, None]))

    assert finished.result.status_code == 0, finished.output.text()
    line = next(s for s in finished.output.text().splitlines() if s.startswith("shipway-echo: "))
    echoed = json.loads(line.removeprefix("shipway-echo: "))
    assert echoed["message"] == "hi" and echoed["count"] == 2 and echoed["items"] == [1, None]
    assert echoed["value"] == "from map"


def test_a_failing_flow_reports_its_exit_code_and_traceback(k8s: KubernetesJob) -> None:
    finished = bounded(run_job, k8s, FLOWS.failing("boom on a cluster"))

    assert finished.result.status_code == 1
    assert finished.result.reason is None  # the flow's own failure: the traceback says it
    assert "RuntimeError: boom on a cluster" in finished.output.text()


def test_a_container_killed_for_memory_says_so(k8s: KubernetesJob) -> None:
    hungry = k8s.model_copy(
        update={
            "memory_limit": "64Mi",
            "command": ["python", "-c", "x = bytearray(512 * 1024 * 1024); print(len(x))"],
        }
    )
    finished = bounded(run_job, hungry, FLOWS.hello())

    assert finished.result.status_code == 137
    assert finished.result.reason is not None
    assert finished.result.reason.startswith("OOMKilled"), finished.result
    assert "64Mi" in finished.result.reason


def test_an_evicted_pod_ends_the_run_with_the_reason_and_events(
    k8s: KubernetesJob, kube_cluster: KubeCluster, kube_namespace: str
) -> None:
    if kube_cluster.real:
        pytest.skip("evicting on demand needs the local stack's kubelet")
    sink = RecordingSink()

    async def go() -> Any:
        async with started(k8s, FLOWS.sleeper(), sink) as handle:
            await sink.wait_for(b"started", timeout=60)
            core = kube_cluster.core()
            (pod,) = core.list_namespaced_pod(
                kube_namespace, label_selector=f"shipway.io/run={handle.identifier.split(':')[2]}"
            ).items
            core.patch_namespaced_pod(
                pod.metadata.name,
                kube_namespace,
                {"metadata": {"annotations": {"kube-stack.shipway.io/evict": ""}}},
            )
        return handle

    handle = bounded(go)

    assert handle.result is not None and handle.result.status_code != 0
    assert handle.result.reason is not None
    assert handle.result.reason.startswith("Evicted: The node was low on resource"), handle.result
    assert "Evicted" in sink.text() and "Kubernetes events:" in sink.text()


def test_a_job_the_controller_gives_up_on_says_why(k8s: KubernetesJob) -> None:
    deadline = k8s.model_copy(
        update={
            "customizations": [{"op": "add", "path": "/spec/activeDeadlineSeconds", "value": 3}]
        }
    )
    finished = bounded(run_job, deadline, FLOWS.sleeper())

    assert finished.result.status_code != 0
    assert finished.result.reason is not None
    assert "DeadlineExceeded" in finished.result.reason, finished.result


# -- kill, cancellation, reattach --------------------------------------------------------


def kill_in_another_process(infrastructure: KubernetesJob, identifier: str, grace: int) -> str:
    code = (
        "import sys, anyio\n"
        "from shipway_kubernetes import KubernetesJob\n"
        "from shipway.infrastructure import InfrastructureNotFound\n"
        "k = KubernetesJob.model_validate_json(sys.argv[1])\n"
        "try:\n"
        "    anyio.run(k.kill, sys.argv[2], int(sys.argv[3]))\n"
        "except InfrastructureNotFound as exc:\n"
        "    print('not found:', exc.message)\n"
        "else:\n"
        "    print('killed')\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code, infrastructure.model_dump_json(), identifier, str(grace)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


def test_kill_from_another_process_deletes_the_job_and_its_pod(
    k8s: KubernetesJob, kube_cluster: KubeCluster, kube_namespace: str
) -> None:
    sink = RecordingSink()

    async def go() -> Any:
        async with started(k8s, FLOWS.sleeper(), sink) as handle:
            await sink.wait_for(b"started", timeout=60)
            assert (
                await anyio.to_thread.run_sync(kill_in_another_process, k8s, handle.identifier, 5)
                == "killed"
            )
        return handle

    begun = time.monotonic()
    handle = bounded(go)

    assert time.monotonic() - begun < 60
    assert handle.result is not None and handle.result.status_code != 0
    assert "cleanup" in sink.text()  # SIGTERM first: the flow's finally block ran
    assert "slept to the end" not in sink.text()
    wait_for("the Job and pod to go", lambda: not leftovers(kube_cluster, kube_namespace))
    assert kill_in_another_process(k8s, handle.identifier, 1).startswith("not found:")


def test_kill_refuses_another_cluster_or_namespace(k8s: KubernetesJob) -> None:
    finished = bounded(run_job, k8s, FLOWS.hello())
    uid, namespace, name = parse_identifier(finished.identifier)

    with pytest.raises(InfrastructureNotAvailable, match="runs on the cluster"):
        bounded(k8s.kill, f"another-cluster-uid:{namespace}:{name}", 1)
    with pytest.raises(InfrastructureNotAvailable, match="runs in namespace other"):
        bounded(k8s.kill, f"{uid}:other:{name}", 1)
    with pytest.raises(InfrastructureNotFound):
        bounded(k8s.kill, finished.identifier, 1)  # finished
    with pytest.raises(InfrastructureNotFound):
        bounded(k8s.kill, f"{uid}:{namespace}:vanished-job", 1)


def test_a_cancelled_run_leaves_no_job_or_pod(
    k8s: KubernetesJob, kube_cluster: KubeCluster, kube_namespace: str
) -> None:
    sink = RecordingSink()

    async def go() -> None:
        async with anyio.create_task_group() as tg:
            with output_sink(sink):
                await tg.start(k8s.run, FLOWS.sleeper())
            await sink.wait_for(b"started", timeout=60)
            tg.cancel_scope.cancel()

    bounded(go)

    wait_for("the Job and pod to go", lambda: not leftovers(kube_cluster, kube_namespace))


def test_reattach_follows_a_run_to_its_end(k8s: KubernetesJob) -> None:
    sink = RecordingSink()
    counting = k8s.model_copy(
        update={"command": ["python", "-c", COUNTING.format(count=25, pause=0.2)]}
    )

    async def go() -> Any:
        async with anyio.create_task_group() as tg:
            with output_sink(sink):
                identifier = await tg.start(counting.run, FLOWS.hello())
            await sink.wait_for(b"line 003", timeout=60)
            follower = RecordingSink()
            with output_sink(follower):
                result = await KubernetesJob.model_validate_json(k8s.model_dump_json()).reattach(
                    identifier
                )
            return result, follower

    result, follower = bounded(go)

    assert result.status_code == 0
    assert "line 024" in follower.text()
    assert "line 000" not in follower.text()  # only what it produces from now on
    with pytest.raises(InfrastructureNotFound):
        uid, namespace, _ = parse_identifier(result.identifier)
        bounded(k8s.reattach, f"{uid}:{namespace}:gone-job")


def test_job_watch_timeout_ends_the_run_and_deletes_the_job(
    k8s: KubernetesJob, kube_cluster: KubeCluster, kube_namespace: str
) -> None:
    limited = k8s.model_copy(update={"job_watch_timeout_seconds": 5})

    error, _ = cannot_run(limited, FLOWS.sleeper())

    assert "did not finish within job_watch_timeout_seconds (5 s)" in error.message
    wait_for("the Job and pod to go", lambda: not leftovers(kube_cluster, kube_namespace))


# -- could not start -------------------------------------------------------------------


def test_an_image_that_does_not_exist_is_diagnosed(
    k8s: KubernetesJob, kube_cluster: KubeCluster, kube_namespace: str
) -> None:
    missing = k8s.model_copy(update={"image": "shipway-test/does-not-exist:1"})

    error, output = cannot_run(missing, FLOWS.hello())

    assert "could not start the flow: ErrImage" in error.message, error.message
    assert "shipway-test/does-not-exist:1" in error.message
    assert "Kubernetes events:" in output and "Failed" in output
    wait_for("the Job and pod to go", lambda: not leftovers(kube_cluster, kube_namespace))


def test_an_unschedulable_pod_is_diagnosed(k8s: KubernetesJob) -> None:
    too_big = k8s.model_copy(update={"memory_request": "64Ti", "pod_watch_timeout_seconds": 4})

    error, output = cannot_run(too_big, FLOWS.hello())

    assert "Unschedulable" in error.message and "Insufficient memory" in error.message
    assert "FailedScheduling" in output


def test_a_missing_service_account_is_diagnosed(k8s: KubernetesJob) -> None:
    nobody = k8s.model_copy(update={"service_account_name": "nobody-here"})

    error, output = cannot_run(nobody, FLOWS.hello())

    assert "FailedCreate" in error.message
    assert 'serviceaccount "nobody-here" not found' in error.message
    assert "FailedCreate" in output


def test_an_exceeded_resource_quota_is_diagnosed(
    k8s: KubernetesJob, kube_cluster: KubeCluster, kube_namespace: str
) -> None:
    from kubernetes import client

    core = kube_cluster.core()
    core.create_namespaced_resource_quota(
        kube_namespace,
        client.V1ResourceQuota(
            metadata=client.V1ObjectMeta(name="tight"),
            spec=client.V1ResourceQuotaSpec(hard={"requests.memory": "64Mi"}),
        ),
    )
    # Admission refuses every pod ("status unknown") until the controller has counted.
    wait_for(
        "the quota to be counted",
        lambda: core.read_namespaced_resource_quota("tight", kube_namespace).status.hard or {},
    )
    greedy = k8s.model_copy(update={"memory_request": "128Mi", "memory_limit": "128Mi"})

    error, output = cannot_run(greedy, FLOWS.hello())

    assert "FailedCreate" in error.message and "exceeded quota: tight" in error.message, error
    assert "requests.memory=128Mi" in error.message
    assert "Kubernetes events:" in output and "exceeded quota" in output
    wait_for("the Job to go", lambda: not leftovers(kube_cluster, kube_namespace))


def test_a_user_without_rbac_permissions_is_told_what_is_missing(
    k8s: KubernetesJob, kube_cluster: KubeCluster
) -> None:
    if kube_cluster.limited_kubeconfig is None:
        pytest.skip("no limited identity for this cluster")
    limited = k8s.model_copy(update={"kubeconfig": kube_cluster.limited_kubeconfig})

    error, _ = cannot_run(limited, FLOWS.hello())

    assert error.message.startswith("permission denied while "), error.message
    assert "lacks the RBAC permission 'get' on 'namespaces'" in error.message
    assert error.hint is not None and "RBAC" in error.hint


def test_a_namespace_that_does_not_exist_is_named(k8s: KubernetesJob) -> None:
    elsewhere = k8s.model_copy(update={"namespace": "shipway-no-such-namespace"})

    error, _ = cannot_run(elsewhere, FLOWS.hello())

    assert "the namespace 'shipway-no-such-namespace' does not exist" in error.message


# -- faults ------------------------------------------------------------------------------


def test_watches_and_logs_survive_dropped_connections(
    k8s: KubernetesJob, fault_proxy: FaultProxy
) -> None:
    proxied = k8s.model_copy(
        update={
            "kubeconfig": fault_proxy.kubeconfig,
            "command": ["python", "-c", COUNTING.format(count=40, pause=0.1)],
        }
    )
    sink = RecordingSink()

    async def go() -> Any:
        async with started(proxied, FLOWS.hello(), sink) as handle:
            for needle in (b"line 005", b"line 015", b"line 025"):
                await sink.wait_for(needle, timeout=60)
                fault_proxy.drop_connections()
        return handle

    handle = bounded(go)

    assert handle.result is not None and handle.result.status_code == 0, sink.text()
    lines = sink.text().splitlines()
    assert lines == [f"line {i:03d}" for i in range(40)], sink.text()  # none lost, none twice
    log_requests = [r for r in fault_proxy.requests if "/log" in r]
    assert any("sinceTime=" in r for r in log_requests), log_requests
    watches = [r for r in fault_proxy.requests if "watch=true" in r]
    assert len(watches) > 2 and any("resourceVersion=" in r for r in watches), watches


def test_a_run_outlives_api_server_errors_and_stalled_watches(
    k8s: KubernetesJob, fault_proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shipway_kubernetes._watch as watch_module

    monkeypatch.setattr(watch_module, "WATCH_SECONDS", 3)
    monkeypatch.setattr(watch_module, "STALL_SECONDS", 2)
    proxied = k8s.model_copy(update={"kubeconfig": fault_proxy.kubeconfig})
    sink = RecordingSink()

    async def go() -> Any:
        async with started(proxied, FLOWS.sleeper(seconds=8), sink) as handle:
            await sink.wait_for(b"started", timeout=60)
            fault_proxy.stall_watches(True)
            fault_proxy.drop_connections()
            await anyio.sleep(4)
            fault_proxy.stall_watches(False)
            fault_proxy.fail_next(4, status=503)
        return handle

    handle = bounded(go)

    assert handle.result is not None and handle.result.status_code == 0, sink.text()
    assert "slept to the end" in sink.text()


def test_requests_are_retried_while_the_api_server_answers_503(
    k8s: KubernetesJob, fault_proxy: FaultProxy
) -> None:
    proxied = k8s.model_copy(update={"kubeconfig": fault_proxy.kubeconfig})
    fault_proxy.fail_next(3, status=503)

    finished = bounded(run_job, proxied, FLOWS.hello("despite 503s"))

    assert finished.result.status_code == 0, finished.output.text()
    assert "Hello, despite 503s!" in finished.output.text()
