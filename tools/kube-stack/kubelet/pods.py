"""The kubelet's core loop: for every pod bound to this node, make the Docker container
match the pod (start it, stop it on graceful deletion) and report what happened back as
pod status and Events, in the shapes the real kubelet uses (waiting reasons, terminated
exit codes and reasons, phases), since those are what the plugin under test reads."""

from __future__ import annotations

import copy
import datetime
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import docker.errors
import environment
import volumes
from events import EventRecorder
from informer import PodInformer
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from runtime import Runtime
from scheduler import Scheduler

log = logging.getLogger("kubelet.pods")

RESYNC_SECONDS = 1.0
PULL_BACKOFF = (5, 10, 20, 30)
FINAL_PHASES = ("Succeeded", "Failed")
# Tests set this annotation to have the pod evicted as node pressure would (the value is
# the message; empty means EVICTION_MESSAGE): container stopped, phase Failed, reason Evicted.
EVICT_ANNOTATION = "kube-stack.shipway.io/evict"
EVICTION_MESSAGE = "The node was low on resource: memory."
# A pod with this annotation starts no container: it is reported Running, then, after the
# value's seconds ("0": at once), Succeeded with exit code 0 and an empty log. For load
# tests of the control plane and its clients, where Docker would be the bottleneck.
SIMULATE_ANNOTATION = "kube-stack.shipway.io/simulate"
SIMULATION_THREADS = 8
"""Simulated pods are reconciled this many at a time (their API calls overlap); pods with
real containers one after the other, as before."""


def simulated_seconds(pod: Any) -> float | None:
    """How long a simulated pod runs, or None for a pod that runs a real container."""
    value = (pod.metadata.annotations or {}).get(SIMULATE_ANNOTATION)
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return 0.0


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _docker_time(value: str) -> str | None:
    """Docker's nanosecond RFC 3339 time as Kubernetes' second-precision one."""
    if not value or value.startswith("0001-"):
        return None
    return value[:19] + "Z"


class _Retry:
    """When a pod that could not start (image, config) may be tried again."""

    def __init__(self) -> None:
        self.attempts = 0
        self.next_try = 0.0


class PodWorker:
    def __init__(
        self,
        core: client.CoreV1Api,
        informer: PodInformer,
        runtime: Runtime,
        scheduler: Scheduler,
        events: EventRecorder,
        node_name: str,
    ) -> None:
        self.core = core
        self.informer = informer
        self.runtime = runtime
        self.scheduler = scheduler
        self.events = events
        self.node_name = node_name
        self._pending: set[str] = set()
        self._wake = threading.Condition()
        self._posted: dict[str, str] = {}  # pod uid -> last status posted (JSON)
        self._retries: dict[str, _Retry] = {}
        self._terminating: set[tuple[str, str]] = set()  # (pod uid, action) under way
        self._lock = threading.Lock()
        self._simulated_since: dict[str, tuple[float, str]] = {}  # uid -> (monotonic, time)
        self._simulation_pool = ThreadPoolExecutor(SIMULATION_THREADS, "simulated-pods")

    def notify(self, key: str) -> None:
        with self._wake:
            self._pending.add(key)
            self._wake.notify()

    def run(self, stopping: threading.Event) -> None:
        self.informer.synced.wait()
        last_resync = 0.0
        while not stopping.is_set():
            with self._wake:
                if not self._pending:
                    self._wake.wait(RESYNC_SECONDS)
                keys, self._pending = self._pending, set()
            if time.monotonic() - last_resync >= RESYNC_SECONDS:
                keys |= {PodInformer.key(pod) for pod in self.informer.snapshot()}
                last_resync = time.monotonic()
                self._remove_orphans()
            if not keys:
                continue
            try:
                containers = self.runtime.containers()
            except Exception as exc:
                log.warning("Docker engine not answering: %s", exc)
                time.sleep(1)
                continue
            self.scheduler.begin_pass(self.informer.snapshot())
            pods = [pod for pod in map(self.informer.get, sorted(keys)) if pod is not None]
            simulated = [pod for pod in pods if simulated_seconds(pod) is not None]
            for pod in pods:
                if simulated_seconds(pod) is None:
                    self._reconcile_logged(pod, containers.get(pod.metadata.uid))
            if simulated:
                list(self._simulation_pool.map(self._reconcile_logged, simulated))

    def _reconcile_logged(self, pod: Any, container: Any | None = None) -> None:
        try:
            self.reconcile(pod, container)
        except Exception:
            log.exception("could not reconcile %s", PodInformer.key(pod))

    # -- one pod ------------------------------------------------------------------------------

    def reconcile(self, pod: Any, container: Any | None) -> None:
        if not pod.spec.node_name:
            if not pod.metadata.deletion_timestamp:
                self.scheduler.schedule(pod)
            return
        if pod.spec.node_name != self.node_name:
            return
        if pod.metadata.deletion_timestamp:
            self._terminate_in_background(pod, container)
            return
        if pod.status.phase in FINAL_PHASES:
            if container is not None and container.attrs["State"]["Status"] == "running":
                self._in_background(pod, self._stop, container)  # someone failed the pod
            return
        eviction = (pod.metadata.annotations or {}).get(EVICT_ANNOTATION)
        if eviction is not None:
            self._in_background(pod, self._evict, container, eviction or EVICTION_MESSAGE)
            return
        seconds = simulated_seconds(pod)
        if seconds is not None:
            self._simulate(pod, seconds)
            return
        if container is None:
            self._start(pod)
        else:
            self._report(pod, container)

    def _start(self, pod: Any) -> None:
        uid = pod.metadata.uid
        retry = self._retries.setdefault(uid, _Retry())
        if time.monotonic() < retry.next_try:
            return
        spec = pod.spec.containers[0]
        if not self.runtime.image_present(spec.image):
            self._image_missing(pod, spec, retry)
            return
        try:
            binds = self.runtime.volumes.binds(self.core, pod, spec)
        except volumes.MountFailed as exc:  # the real kubelet retries, the pod waits
            self._waiting(pod, spec, "ContainerCreating", str(exc))
            self.events.record(pod, "Warning", "FailedMount", str(exc))
            retry.next_try = time.monotonic() + 1
            return
        try:
            variables = environment.resolve(self.core, pod, spec)
        except environment.ConfigError as exc:
            self._waiting(pod, spec, "CreateContainerConfigError", str(exc))
            self.events.record(pod, "Warning", "Failed", f"Error: {exc}")
            retry.next_try = time.monotonic() + 5
            return
        self._retries.pop(uid, None)
        if spec.image_pull_policy != "Never":
            self.events.record(
                pod,
                "Normal",
                "Pulled",
                f'Container image "{spec.image}" already present on machine',
            )
        spec = copy.copy(spec)  # the informer's object stays as the API server sent it
        spec.command = [environment.expand(part, variables) for part in spec.command or []]
        spec.args = (
            None
            if spec.args is None
            else [environment.expand(part, variables) for part in spec.args]
        )
        try:
            container = self.runtime.start(pod, spec, variables, binds)
        except docker.errors.APIError as exc:
            message = exc.explanation or str(exc)
            self.events.record(pod, "Warning", "Failed", f"Error: {message}")
            leftover = self.runtime.container(uid)
            if leftover is not None:
                self.runtime.remove(leftover)
            self._post(
                pod,
                self._status(
                    pod,
                    "Failed",
                    spec,
                    {
                        "terminated": {
                            "exitCode": 128,
                            "reason": "ContainerCannotRun",
                            "message": message,
                            "startedAt": _now(),
                            "finishedAt": _now(),
                        },
                    },
                ),
            )
            return
        self.events.record(pod, "Normal", "Created", f"Created container {spec.name}")
        self.events.record(pod, "Normal", "Started", f"Started container {spec.name}")
        self._report(pod, container)

    def _simulate(self, pod: Any, seconds: float) -> None:
        """Run a simulated pod: no container, Running for ``seconds``, then Succeeded."""
        uid = pod.metadata.uid
        spec = pod.spec.containers[0]
        started, started_at = self._simulated_since.setdefault(uid, (time.monotonic(), _now()))
        if time.monotonic() - started < seconds:  # looked at again at each resync
            running = {"running": {"startedAt": started_at}}
            self._post(pod, self._status(pod, "Running", spec, running))
            return
        terminated = {
            "exitCode": 0,
            "reason": "Completed",
            "startedAt": started_at,
            "finishedAt": _now(),
        }
        self._post(pod, self._status(pod, "Succeeded", spec, {"terminated": terminated}))
        self._simulated_since.pop(uid, None)

    def _image_missing(self, pod: Any, spec: Any, retry: _Retry) -> None:
        image = spec.image
        retry.next_try = time.monotonic() + PULL_BACKOFF[min(retry.attempts, len(PULL_BACKOFF) - 1)]
        retry.attempts += 1
        if spec.image_pull_policy == "Never":
            message = f'Container image "{image}" is not present with pull policy of Never'
            self._waiting(pod, spec, "ErrImageNeverPull", message)
            self.events.record(pod, "Warning", "ErrImageNeverPull", message)
            self.events.record(pod, "Warning", "Failed", "Error: ErrImageNeverPull")
        elif retry.attempts % 2 == 1:
            self.events.record(pod, "Normal", "Pulling", f'Pulling image "{image}"')
            failure = (
                f'Failed to pull image "{image}": rpc error: code = Unknown desc = '
                "no registry can be reached from the shipway test kubelet and the image "
                "is not in the local Docker engine"
            )
            self._waiting(pod, spec, "ErrImagePull", failure)
            self.events.record(pod, "Warning", "Failed", failure)
            self.events.record(pod, "Warning", "Failed", "Error: ErrImagePull")
        else:
            message = f'Back-off pulling image "{image}"'
            self._waiting(pod, spec, "ImagePullBackOff", message)
            self.events.record(pod, "Normal", "BackOff", message)
            self.events.record(pod, "Warning", "Failed", "Error: ImagePullBackOff")

    def _waiting(self, pod: Any, spec: Any, reason: str, message: str) -> None:
        self._post(
            pod,
            self._status(pod, "Pending", spec, {"waiting": {"reason": reason, "message": message}}),
        )

    def _report(self, pod: Any, container: Any) -> None:
        self._post(pod, self._observed_status(pod, container))

    def _observed_status(self, pod: Any, container: Any) -> dict[str, Any]:
        spec = pod.spec.containers[0]
        state = container.attrs["State"]
        container_state: dict[str, Any]
        if state["Status"] in ("running", "paused", "restarting"):
            phase = "Running"
            container_state = {"running": {"startedAt": _docker_time(state["StartedAt"])}}
        elif state["Status"] in ("exited", "dead"):
            code = int(state["ExitCode"])
            phase = "Succeeded" if code == 0 else "Failed"
            reason = (
                "OOMKilled" if state.get("OOMKilled") else ("Completed" if code == 0 else "Error")
            )
            container_state = {
                "terminated": {
                    "exitCode": code,
                    "reason": reason,
                    "startedAt": _docker_time(state["StartedAt"]),
                    "finishedAt": _docker_time(state["FinishedAt"]),
                    "containerID": f"docker://{container.id}",
                }
            }
        else:
            phase = "Pending"
            container_state = {"waiting": {"reason": "ContainerCreating"}}
        ip = (container.attrs.get("NetworkSettings") or {}).get("IPAddress") or None
        return self._status(pod, phase, spec, container_state, container, ip)

    def _status(
        self,
        pod: Any,
        phase: str,
        spec: Any,
        state: dict[str, Any],
        container: Any | None = None,
        ip: str | None = None,
    ) -> dict[str, Any]:
        running = "running" in state
        for kind in ("waiting", "running", "terminated"):
            state.setdefault(kind, None)  # explicit nulls: a patch must replace the old state
        ready = "True" if running else "False"
        not_ready = None if running else "ContainersNotReady"
        start_time = (
            pod.status.start_time.strftime("%Y-%m-%dT%H:%M:%SZ")
            if (pod.status and pod.status.start_time)
            else _now()
        )
        conditions: list[dict[str, str | None]] = [
            {"type": "Initialized", "status": "True"},
            {"type": "Ready", "status": ready, "reason": not_ready},
            {"type": "ContainersReady", "status": ready, "reason": not_ready},
            {"type": "PodScheduled", "status": "True"},
        ]
        if phase in FINAL_PHASES:
            conditions[1]["reason"] = conditions[2]["reason"] = "PodCompleted"
        status: dict[str, Any] = {
            "phase": phase,
            "hostIP": "127.0.0.1",
            "startTime": start_time,
            "conditions": conditions,
            "containerStatuses": [
                {
                    "name": spec.name,
                    "image": spec.image,
                    "imageID": f"docker://{container.image.id}" if container is not None else "",
                    "containerID": f"docker://{container.id}" if container is not None else None,
                    "ready": running,
                    "started": running,
                    "restartCount": 0,
                    "state": state,
                    "lastState": {},
                }
            ],
        }
        if ip:
            status["podIP"] = ip
            status["podIPs"] = [{"ip": ip}]
        return status

    def _post(self, pod: Any, status: dict[str, Any]) -> None:
        uid = pod.metadata.uid
        comparable = json.dumps(
            {k: v for k, v in status.items() if k != "conditions"}, sort_keys=True, default=str
        )
        if self._posted.get(uid) == comparable:
            return
        for condition in status["conditions"]:
            condition.setdefault("lastTransitionTime", _now())
        try:
            self.core.patch_namespaced_pod_status(
                pod.metadata.name, pod.metadata.namespace, {"status": status}
            )
        except ApiException as exc:
            log.info("status of %s not posted: %s %s", pod.metadata.name, exc.status, exc.reason)
            return
        self._posted[uid] = comparable

    # -- deletion -----------------------------------------------------------------------------

    def _terminate_in_background(self, pod: Any, container: Any | None) -> None:
        self._in_background(pod, self._terminate, container)

    def _in_background(self, pod: Any, action: Any, *args: Any) -> None:
        """Run ``action(pod, *args)`` in a thread, once per pod (stopping takes a while)."""
        key = (pod.metadata.uid, action.__name__)
        with self._lock:
            if key in self._terminating:
                return
            self._terminating.add(key)
        threading.Thread(
            target=action,
            args=(pod, *args),
            daemon=True,
            name=f"{action.__name__}-{pod.metadata.name}",
        ).start()

    def _grace(self, pod: Any, deleting: bool) -> int:
        grace = pod.metadata.deletion_grace_period_seconds if deleting else None
        if grace is None:
            grace = pod.spec.termination_grace_period_seconds
        return 30 if grace is None else int(grace)

    def _stop(self, pod: Any, container: Any) -> None:
        self.events.record(
            pod, "Normal", "Killing", f"Stopping container {pod.spec.containers[0].name}"
        )
        self.runtime.stop(container, self._grace(pod, deleting=False))

    def _evict(self, pod: Any, container: Any | None, message: str) -> None:
        """What the kubelet does under node pressure: kill, then fail the pod as Evicted."""
        self.events.record(pod, "Warning", "Evicted", message)
        if container is None:
            status = self._status(pod, "Failed", pod.spec.containers[0], {})
        else:
            self._stop(pod, container)
            container.reload()
            status = self._observed_status(pod, container)
        status.update(phase="Failed", reason="Evicted", message=message)
        self._post(pod, status)

    def _terminate(self, pod: Any, container: Any | None) -> None:
        """Graceful deletion: SIGTERM, wait the grace period, kill, report, then delete
        the pod object for good (grace 0), as the real kubelet finishes a deletion."""
        uid = pod.metadata.uid
        try:
            if container is not None:
                container.reload()
                if container.attrs["State"]["Status"] == "running":
                    self.events.record(
                        pod,
                        "Normal",
                        "Killing",
                        f"Stopping container {pod.spec.containers[0].name}",
                    )
                    self.runtime.stop(container, self._grace(pod, deleting=True))
                    container.reload()
                    if pod.status.phase not in FINAL_PHASES:
                        self._report(pod, container)
            try:
                self.core.delete_namespaced_pod(
                    pod.metadata.name,
                    pod.metadata.namespace,
                    body=client.V1DeleteOptions(
                        grace_period_seconds=0, preconditions=client.V1Preconditions(uid=uid)
                    ),
                )
            except ApiException as exc:
                if exc.status not in (404, 409):
                    raise
            if container is not None:
                self.runtime.remove(container)
        except Exception:
            log.exception("could not finish deleting %s", pod.metadata.name)
            with self._lock:
                self._terminating.discard((uid, "_terminate"))  # again on the next resync

    def _remove_orphans(self) -> None:
        """Containers whose pod no longer exists (deleted with grace 0, or the namespace)."""
        if not self.informer.synced.is_set():
            return
        known = {pod.metadata.uid for pod in self.informer.snapshot()}
        try:
            containers = self.runtime.containers()
        except Exception:
            return
        for uid, container in containers.items():
            if uid not in known:
                self.runtime.remove(container)
                self._posted.pop(uid, None)
                self._retries.pop(uid, None)
                self.scheduler.forget(uid)
