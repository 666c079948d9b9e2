"""The local Kubernetes stack is a real cluster: pods run in real containers, logs come
through the API server, controllers act, the scheduler says why it cannot place a pod.
These run against tools/kube-stack only (real clusters lack the test base image)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from _fault_proxy import FaultProxy
from _kube_stack import KubeCluster
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

TIMEOUT = 90.0


def wait_for(what: str, check: Callable[[], Any], timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.25)


def pod(name: str, image: str, script: str, **container: Any) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels={"app": name}),
        spec=client.V1PodSpec(
            restart_policy="Never",
            termination_grace_period_seconds=2,
            containers=[
                client.V1Container(
                    name="main",
                    image=image,
                    image_pull_policy="IfNotPresent",
                    command=["python3", "-u", "-c", script],
                    **container,
                )
            ],
        ),
    )


def phase(core: Any, namespace: str, name: str) -> str:
    return str(core.read_namespaced_pod(name, namespace).status.phase)


def terminated(core: Any, namespace: str, name: str) -> Any:
    statuses = core.read_namespaced_pod(name, namespace).status.container_statuses or []
    return statuses and statuses[0].state.terminated


def test_a_pod_runs_a_container_and_its_logs_come_through_the_api_server(
    kube_cluster: KubeCluster, kube_namespace: str, base_image: str
) -> None:
    core = kube_cluster.core()
    env = [
        client.V1EnvVar(name="GREETING", value="hello"),
        client.V1EnvVar(
            name="POD_NAME",
            value_from=client.V1EnvVarSource(
                field_ref=client.V1ObjectFieldSelector(field_path="metadata.name")
            ),
        ),
    ]
    script = "import os, time\nfor i in range(3): print(os.environ['GREETING'], os.environ['POD_NAME'], i)\ntime.sleep(1)\nraise SystemExit(3)"  # noqa: E501
    core.create_namespaced_pod(kube_namespace, pod("hello", base_image, script, env=env))
    state = wait_for("the container to exit", lambda: terminated(core, kube_namespace, "hello"))
    assert (state.exit_code, state.reason) == (3, "Error")
    assert phase(core, kube_namespace, "hello") == "Failed"
    logs = core.read_namespaced_pod_log("hello", kube_namespace)
    assert logs == "hello hello 0\nhello hello 1\nhello hello 2\n"
    tail = core.read_namespaced_pod_log("hello", kube_namespace, tail_lines=1, timestamps=True)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z hello hello 2\n", tail)
    assert core.read_namespaced_pod_log("hello", kube_namespace, since_seconds=3600) == logs
    assert raw_log(kube_cluster, kube_namespace, "hello", sinceTime="2999-01-01T00:00:00Z") == ""
    assert raw_log(kube_cluster, kube_namespace, "hello", sinceTime="2000-01-01T00:00:00Z") == logs


def raw_log(cluster: KubeCluster, namespace: str, name: str, **query: str) -> str:
    """``pods/{name}/log`` with query parameters the generated client does not offer."""
    api = cluster.api_client()
    method, url, headers, *_ = api.param_serialize(
        "GET",
        f"/api/v1/namespaces/{namespace}/pods/{name}/log",
        query_params=list(query.items()),
        auth_settings=["BearerToken"],
    )
    response = api.call_api(method, url, headers)
    response.read()
    assert response.status == 200, response.data
    return str(response.data.decode())


def test_logs_can_be_followed_while_the_container_runs(
    kube_cluster: KubeCluster, kube_namespace: str, base_image: str
) -> None:
    core = kube_cluster.core()
    script = "import time\nfor i in range(4):\n    print('line', i)\n    time.sleep(0.5)"
    core.create_namespaced_pod(kube_namespace, pod("follow", base_image, script))
    wait_for("the pod to run", lambda: phase(core, kube_namespace, "follow") != "Pending")
    lines = list(
        watch.Watch().stream(  # type: ignore[no-untyped-call]
            core.read_namespaced_pod_log, "follow", kube_namespace, follow=True
        )
    )
    assert lines == ["line 0", "line 1", "line 2", "line 3"]


def test_a_job_completes_through_the_controller_manager(
    kube_cluster: KubeCluster, kube_namespace: str, base_image: str
) -> None:
    template = pod("job", base_image, "print('done')")
    job = client.V1Job(
        metadata=client.V1ObjectMeta(name="job"),
        spec=client.V1JobSpec(
            backoff_limit=0,
            ttl_seconds_after_finished=600,
            template=client.V1PodTemplateSpec(spec=template.spec),
        ),
    )
    batch = kube_cluster.batch()
    batch.create_namespaced_job(kube_namespace, job)
    wait_for(
        "the Job to succeed",
        lambda: batch.read_namespaced_job_status("job", kube_namespace).status.succeeded == 1,
    )
    pods = kube_cluster.core().list_namespaced_pod(kube_namespace, label_selector="job-name=job")
    assert [p.status.phase for p in pods.items] == ["Succeeded"]


def test_deleting_a_job_in_the_background_removes_its_pod(
    kube_cluster: KubeCluster, kube_namespace: str, base_image: str
) -> None:
    template = pod("sleeper", base_image, "import time; time.sleep(600)")
    job = client.V1Job(
        metadata=client.V1ObjectMeta(name="sleeper"),
        spec=client.V1JobSpec(template=client.V1PodTemplateSpec(spec=template.spec)),
    )
    batch, core = kube_cluster.batch(), kube_cluster.core()
    batch.create_namespaced_job(kube_namespace, job)

    def job_pods() -> list[Any]:
        listing = core.list_namespaced_pod(kube_namespace, label_selector="job-name=sleeper")
        return list(listing.items)

    wait_for("the Job's pod to run", lambda: [p for p in job_pods() if p.status.phase == "Running"])
    batch.delete_namespaced_job(
        "sleeper", kube_namespace, body=client.V1DeleteOptions(propagation_policy="Background")
    )
    wait_for("the pod to be gone", lambda: not job_pods())


def test_a_pod_that_fits_nowhere_gets_a_failed_scheduling_event(
    kube_cluster: KubeCluster, kube_namespace: str, base_image: str
) -> None:
    core = kube_cluster.core()
    resources = client.V1ResourceRequirements(requests={"memory": "64Gi"})
    core.create_namespaced_pod(
        kube_namespace, pod("huge", base_image, "print(1)", resources=resources)
    )

    def failed_scheduling() -> list[Any]:
        events = core.list_namespaced_event(
            kube_namespace, field_selector="involvedObject.name=huge"
        ).items
        return [e for e in events if e.reason == "FailedScheduling"]

    (event,) = wait_for("a FailedScheduling event", failed_scheduling)
    assert event.type == "Warning"
    assert event.message == "0/1 nodes are available: 1 Insufficient memory."
    conditions = core.read_namespaced_pod("huge", kube_namespace).status.conditions
    assert [(c.type, c.status, c.reason) for c in conditions] == [
        ("PodScheduled", "False", "Unschedulable")
    ]


def test_a_missing_image_with_pull_policy_never_is_reported(
    kube_cluster: KubeCluster, kube_namespace: str
) -> None:
    core = kube_cluster.core()
    manifest = pod("ghost", "shipway-test/does-not-exist:1", "print(1)")
    assert manifest.spec is not None
    manifest.spec.containers[0].image_pull_policy = "Never"
    core.create_namespaced_pod(kube_namespace, manifest)

    def waiting_reason() -> str | None:
        statuses = core.read_namespaced_pod("ghost", kube_namespace).status.container_statuses
        waiting = statuses and statuses[0].state.waiting
        return str(waiting.reason) if waiting else None

    assert wait_for("a waiting reason", waiting_reason) == "ErrImageNeverPull"


def test_memory_limits_are_real(
    kube_cluster: KubeCluster, kube_namespace: str, base_image: str
) -> None:
    core = kube_cluster.core()
    resources = client.V1ResourceRequirements(limits={"memory": "32Mi"})
    script = "blocks = [bytearray(1 << 20) for _ in range(512)]"
    core.create_namespaced_pod(kube_namespace, pod("oom", base_image, script, resources=resources))
    state = wait_for("the container to be killed", lambda: terminated(core, kube_namespace, "oom"))
    assert (state.exit_code, state.reason) == (137, "OOMKilled")


def test_a_user_without_rbac_bindings_gets_403(
    kube_cluster: KubeCluster, kube_namespace: str
) -> None:
    assert kube_cluster.limited_kubeconfig is not None
    limited = client.CoreV1Api(kube_cluster.api_client(kube_cluster.limited_kubeconfig))
    with pytest.raises(ApiException) as raised:
        limited.list_namespaced_pod(kube_namespace)
    assert raised.value.status == 403
    assert "shipway-limited" in str(raised.value.body)


def test_the_fault_proxy_fails_requests_and_drops_watches(
    kube_cluster: KubeCluster, kube_namespace: str, fault_proxy: FaultProxy
) -> None:
    core = client.CoreV1Api(kube_cluster.api_client(fault_proxy.kubeconfig))
    assert core.list_namespaced_pod(kube_namespace).items == []
    fault_proxy.fail_next(1, status=503)
    with pytest.raises(ApiException) as raised:
        core.list_namespaced_pod(kube_namespace)
    assert raised.value.status == 503
    assert core.list_namespaced_pod(kube_namespace).items == []

    response: Any = core.list_namespaced_pod(
        kube_namespace, watch=True, timeout_seconds=60, _preload_content=False
    )
    time.sleep(0.5)
    started = time.monotonic()
    fault_proxy.drop_connections()
    broken: Exception | None = None
    try:
        for _ in response.stream():
            pass
    except Exception as exc:  # urllib3's ProtocolError: the connection was cut mid-stream
        broken = exc
    assert broken is not None, "the watch ended cleanly instead of being cut"
    assert time.monotonic() - started < 10
    assert any("watch=true" in request for request in fault_proxy.requests)


def test_a_deleted_pod_gets_sigterm_and_its_grace_period(
    kube_cluster: KubeCluster, kube_namespace: str, base_image: str
) -> None:
    core = kube_cluster.core()
    script = (
        "import signal, sys, time\n"
        "def bye(*_):\n    print('got SIGTERM')\n    sys.exit(143)\n"
        "signal.signal(signal.SIGTERM, bye)\nprint('up')\ntime.sleep(600)"
    )
    core.create_namespaced_pod(kube_namespace, pod("graceful", base_image, script))
    wait_for(
        "the pod to print",
        lambda: (
            phase(core, kube_namespace, "graceful") == "Running"
            and "up" in core.read_namespaced_pod_log("graceful", kube_namespace)
        ),
    )
    version = core.read_namespaced_pod("graceful", kube_namespace).metadata.resource_version
    started = time.monotonic()
    core.delete_namespaced_pod("graceful", kube_namespace, grace_period_seconds=30)
    exit_codes = []
    stream: Any = watch.Watch()  # type: ignore[no-untyped-call]
    for event in stream.stream(
        core.list_namespaced_pod,
        kube_namespace,
        field_selector="metadata.name=graceful",
        resource_version=version,
        timeout_seconds=60,
    ):
        statuses = event["object"].status.container_statuses or []
        if statuses and statuses[0].state.terminated:
            exit_codes.append(statuses[0].state.terminated.exit_code)
        if event["type"] == "DELETED":
            break
    assert time.monotonic() - started < 20  # it exited on SIGTERM, long before the grace
    assert exit_codes and exit_codes[-1] == 143  # the flow's handler ran: sys.exit(143)


def test_finished_jobs_are_removed_after_their_ttl(
    kube_cluster: KubeCluster, kube_namespace: str, base_image: str
) -> None:
    template = pod("ttl", base_image, "print('done')")
    job = client.V1Job(
        metadata=client.V1ObjectMeta(name="ttl"),
        spec=client.V1JobSpec(
            ttl_seconds_after_finished=0, template=client.V1PodTemplateSpec(spec=template.spec)
        ),
    )
    batch = kube_cluster.batch()
    batch.create_namespaced_job(kube_namespace, job)

    def job_gone() -> bool:
        try:
            batch.read_namespaced_job("ttl", kube_namespace)
        except ApiException as exc:
            return exc.status == 404
        return False

    wait_for("the TTL controller to delete the Job", job_gone)


def test_a_stalled_watch_receives_nothing(
    kube_cluster: KubeCluster, kube_namespace: str, fault_proxy: FaultProxy
) -> None:
    core = client.CoreV1Api(kube_cluster.api_client(fault_proxy.kubeconfig))
    fault_proxy.stall_watches(True)
    core.create_namespaced_config_map(
        kube_namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="c"))
    )
    stream: Any = watch.Watch()  # type: ignore[no-untyped-call]
    with pytest.raises(Exception, match=r"(?i)timed out"):
        for _ in stream.stream(core.list_namespaced_config_map, kube_namespace, _request_timeout=2):
            pytest.fail("a stalled watch delivered an event")
    fault_proxy.reset()
    events = stream.stream(core.list_namespaced_config_map, kube_namespace, timeout_seconds=5)
    assert next(iter(events))["object"].metadata.name in ("c", "kube-root-ca.crt")


def test_the_runtime_image_runs_a_flow_in_a_pod(
    kube_cluster: KubeCluster, kube_namespace: str, runtime_image: str
) -> None:
    from shipway.jobs import JOB_ENV_VAR, Job

    job = Job(entrypoint="flows/hello.py:hello_world", parameters={"name": "pod"})
    manifest = client.V1Pod(
        metadata=client.V1ObjectMeta(name="flow"),
        spec=client.V1PodSpec(
            restart_policy="Never",
            containers=[
                client.V1Container(
                    name="flow",
                    image=runtime_image,
                    image_pull_policy="Never",
                    command=["python", "-m", "shipway.engine"],
                    env=[client.V1EnvVar(name=JOB_ENV_VAR, value=job.to_json())],
                )
            ],
        ),
    )
    core = kube_cluster.core()
    core.create_namespaced_pod(kube_namespace, manifest)
    state = wait_for("the flow to finish", lambda: terminated(core, kube_namespace, "flow"), 180)
    logs = core.read_namespaced_pod_log("flow", kube_namespace)
    assert state.exit_code == 0, logs
    assert "Hello pod!" in logs
