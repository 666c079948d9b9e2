"""Follow one Job to its end: watch it and its pods, stream the log, read the exit code,
and say why when the flow's container cannot start or is ended by the cluster.

Used by ``run`` (right after the Job is created) and by ``reattach`` (for a Job another
process created). What happens to the Job and its pods arrives from the namespace's
shared watches (``_informer``); API calls and log streams run in worker threads on the
plugin's own limiters (``_limits``).
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
from anyio.streams.memory import MemoryObjectReceiveStream

from shipway.infrastructure import InfrastructureError, InfrastructureResult, StreamName
from shipway_kubernetes._cluster import Cluster
from shipway_kubernetes._diagnosis import (
    container_end,
    container_started,
    describe_events,
    failed_create,
    job_finished,
    job_verdict,
    pod_verdict,
    unschedulable,
)
from shipway_kubernetes._informer import Event
from shipway_kubernetes._lifecycle import list_events, read_pods
from shipway_kubernetes._limits import api_call, log_streams
from shipway_kubernetes._logs import PodLog

__all__ = ["CannotStart", "JobFollower"]

POLL_SECONDS = 2.0
"""How often, while no pod runs, the Job's events are read (FailedCreate) and the pod
start deadline is checked."""
LOG_DRAIN_SECONDS = 15.0
"""How long, once the container has ended, the rest of its log may take to arrive."""
EVENT_ATTEMPTS = 5
"""How many times the events are read, half a second apart, until a Warning is among them."""
SIGNAL_EXIT_UNKNOWN = -9
"""The status of a pod the cluster ended without an exit code (evicted, deleted)."""

Write = Callable[[StreamName, bytes], None]


class CannotStart(InfrastructureError):
    """The flow's container will not run; the message says why (and events were written)."""


class JobFollower:
    """The state of one Job as its watch events arrive."""

    def __init__(
        self,
        cluster: Cluster,
        identifier: str,
        namespace: str,
        job_name: str,
        container: str,
        write: Write,
        events: MemoryObjectReceiveStream[Event],
        *,
        stream_output: bool,
        pod_watch_timeout: float | None,
        memory_limit: str | None = None,
        logs_since: datetime.datetime | None = None,
    ) -> None:
        self.cluster = cluster
        self.identifier = identifier
        self.namespace = namespace
        self.job_name = job_name
        self.container = container
        self._write = write
        self._stream_output = stream_output
        self._pod_watch_timeout = pod_watch_timeout
        self._memory_limit = memory_limit
        self._logs_since = logs_since
        self._events = events
        self._logs_stop = threading.Event()  # set once the logs have been drained
        self._pods: dict[str, dict[str, Any]] = {}
        self._deleted_pods: set[str] = set()
        self._ended_pods: set[str] = set()
        self._logs: dict[str, anyio.Event] = {}
        self._job: dict[str, Any] | None = None
        self._job_gone = False
        self._waiting_since = time.monotonic()  # since when no pod has run
        self.log_readers: list[PodLog] = []

    # -- the loop -------------------------------------------------------------------

    def already_seen(self, kind: str, obj: dict[str, Any]) -> None:
        """State read from the API (a reattach's starting point), unless the watches
        already said something about that object (then theirs is as new or newer)."""
        name = str(obj["metadata"]["name"])
        if kind == "job" and self._job is None and not self._job_gone:
            self._job = obj
        elif kind == "pod" and name not in self._pods and name not in self._deleted_pods:
            self._pods[name] = obj

    async def follow(self) -> InfrastructureResult:
        outcome: InfrastructureResult | None = None
        failure: Exception | None = None
        try:
            async with anyio.create_task_group() as tg:
                try:
                    for pod in list(self._pods.values()):  # from already_seen
                        await self._on_pod("LISTED", pod, tg)
                    outcome = await self._result_if_over() or await self._consume(
                        self._events, tg
                    )
                    await self._drain_logs()
                except Exception as exc:  # raised below, outside the task group's ExceptionGroup
                    failure = exc
                tg.cancel_scope.cancel()
        finally:
            # Abandoned worker threads may still be blocked reading: end their requests
            # now, or they would hold their connections until the server next speaks.
            self._logs_stop.set()
            for reader in self.log_readers:
                reader.close()
        if failure is not None:
            raise failure
        assert outcome is not None
        return outcome

    async def _consume(self, receive: Any, tg: anyio.abc.TaskGroup) -> InfrastructureResult:
        next_poll = 0.0
        while True:
            event: tuple[str, str, Any] | None = None
            with anyio.move_on_after(POLL_SECONDS):
                event = await receive.receive()
            if event is not None:
                kind, event_type, obj = event
                if kind == "error":
                    raise obj
                if kind == "job":
                    self._on_job(event_type, obj)
                else:
                    await self._on_pod(event_type, obj, tg)
            result = await self._result_if_over()
            if result is not None:
                return result
            if time.monotonic() >= next_poll and not self._running_pod():
                next_poll = time.monotonic() + POLL_SECONDS
                await self._check_start()

    # -- what the events say ----------------------------------------------------------

    def _on_job(self, event_type: str, job: dict[str, Any]) -> None:
        if event_type == "DELETED":
            self._job_gone = True
        else:
            self._job = job

    async def _on_pod(self, event_type: str, pod: dict[str, Any], tg: anyio.abc.TaskGroup) -> None:
        name = str(pod["metadata"]["name"])
        if event_type == "DELETED":
            self._deleted_pods.add(name)
        elif name not in self._pods:  # a new pod (a retry's): its start is timed afresh
            self._waiting_since = time.monotonic()
        self._pods[name] = pod
        if container_end(pod, self.container) is not None:
            self._ended_pods.add(name)
        verdict = pod_verdict(pod, self.container)
        if verdict is not None and not verdict.started and not self._ending():
            await self._cannot_start(verdict.reason, pod_name=name)
        if (
            self._stream_output
            and name not in self._logs
            and name not in self._deleted_pods
            and container_started(pod, self.container)
        ):
            self._logs[name] = anyio.Event()
            tg.start_soon(self._read_log, name)

    def _newest_pod(self) -> dict[str, Any] | None:
        if not self._pods:
            return None
        return max(
            self._pods.values(),
            key=lambda pod: str(pod["metadata"].get("creationTimestamp") or ""),
        )

    def _running_pod(self) -> bool:
        pod = self._newest_pod()
        return pod is not None and container_started(pod, self.container)

    def _ending(self) -> bool:
        return self._job_gone or (self._job is not None and job_finished(self._job))

    async def _result_if_over(self) -> InfrastructureResult | None:
        """The result once the Job is finished (or deleted) and its last pod has ended."""
        if not self._ending():
            return None
        pod = self._newest_pod()
        if pod is None:
            if self._job_gone:
                return InfrastructureResult(
                    self.identifier, SIGNAL_EXIT_UNKNOWN, "the Job was deleted before its pod ran"
                )
            # finished without a pod we saw (a re-list raced the end): ask once more
            pods = await api_call(read_pods, self.cluster, self.namespace, self.job_name)
            if not pods:
                why = job_verdict(self._job or {}) or "the Job ended without a pod"
                return InfrastructureResult(self.identifier, SIGNAL_EXIT_UNKNOWN, why)
            for found in pods:
                self._pods[found["metadata"]["name"]] = found
            pod = self._newest_pod()
            assert pod is not None
        name = str(pod["metadata"]["name"])
        end = container_end(pod, self.container, self._memory_limit)
        verdict = pod_verdict(pod, self.container)
        if end is None and verdict is None and name not in self._deleted_pods:
            return None  # the pod is still stopping; its final status is on its way
        reason: str | None
        if end is not None:
            reason = end.reason or (verdict.reason if verdict else None)
            code = end.exit_code
        else:
            reason = verdict.reason if verdict else "the pod was deleted before its container ended"
            code = SIGNAL_EXIT_UNKNOWN
        given_up = job_verdict(self._job or {})
        if given_up and not given_up.startswith("BackoffLimitExceeded"):  # that one is the norm
            reason = f"{reason}; {given_up}" if reason else given_up
        if reason is not None and (reason.startswith(("OOMKilled", "Evicted"))):
            await self._write_events(name)
        return InfrastructureResult(self.identifier, code, reason)

    async def _check_start(self) -> None:
        """No pod runs yet: a pod the Job controller cannot create, or a pod that did not
        start in time, ends the run with the cluster's reason."""
        job_events = await api_call(list_events, self.cluster, self.namespace, "Job", self.job_name)
        failure = failed_create(job_events)
        if failure is not None and not self._pods:
            await self._cannot_start(failure, pod_name=None)
        if self._pod_watch_timeout is None:
            return
        if time.monotonic() - self._waiting_since < self._pod_watch_timeout:
            return
        pod = self._newest_pod()
        waited = f"{self._pod_watch_timeout:g}"
        if pod is None:
            reason = f"no pod was created within pod_watch_timeout_seconds ({waited} s)"
        else:
            why = unschedulable(pod) or _waiting_reason(pod, self.container)
            reason = (
                f"{why or 'the pod did not start'} "
                f"(waited pod_watch_timeout_seconds, {waited} s)"
            )
        await self._cannot_start(reason, pod_name=pod["metadata"]["name"] if pod else None)

    async def _cannot_start(self, reason: str, pod_name: str | None) -> None:
        await self._write_events(pod_name)
        raise CannotStart(
            f"Job {self.job_name} in namespace {self.namespace} could not start the flow: {reason}",
            hint="The Kubernetes events above say more (`kubectl describe job "
            f"{self.job_name} -n {self.namespace}`).",
        )

    async def _write_events(self, pod_name: str | None) -> None:
        """The Job's and the pod's events, into the run's output. The status that told us
        can arrive before the Warning event that explains it: wait a moment for one."""
        events: list[dict[str, Any]] = []
        for _ in range(EVENT_ATTEMPTS):
            events = await api_call(list_events, self.cluster, self.namespace, "Job", self.job_name)
            if pod_name:
                events += await api_call(
                    list_events, self.cluster, self.namespace, "Pod", pod_name
                )
            if any(event.get("type") == "Warning" for event in events):
                break
            await anyio.sleep(0.5)
        if not events:
            return
        self._write("stderr", b"shipway-kubernetes: Kubernetes events:\n")
        for line in describe_events(events):
            self._write("stderr", f"  {line}\n".encode())

    # -- logs -------------------------------------------------------------------------

    async def _read_log(self, pod_name: str) -> None:
        done = self._logs[pod_name]

        def deliver(batch: list[tuple[StreamName, bytes]]) -> None:  # in the worker thread
            anyio.from_thread.run_sync(self._deliver, batch)

        reader = PodLog(
            self.cluster,
            self.namespace,
            pod_name,
            self.container,
            deliver,
            lambda: pod_name in self._ended_pods or pod_name in self._deleted_pods,
            self._logs_stop,
        )
        if self._logs_since is not None:
            reader.cursor.last_timestamp = self._logs_since.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self.log_readers.append(reader)
        try:
            # On a limiter of its own: a log lasts as long as its container, and must
            # neither starve nor be starved by the API calls.
            await anyio.to_thread.run_sync(
                reader.follow, abandon_on_cancel=True, limiter=log_streams()
            )
        except Exception as exc:  # the run goes on without its output; its result counts
            self._write(
                "stderr",
                f"shipway-kubernetes: lost the pod's log: {type(exc).__name__}: {exc}\n".encode(),
            )
        finally:
            done.set()

    def _deliver(self, batch: list[tuple[StreamName, bytes]]) -> None:
        for stream, line in batch:
            self._write(stream, line)

    async def _drain_logs(self) -> None:
        """Let the log readers reach the end of what the containers wrote."""
        with anyio.move_on_after(LOG_DRAIN_SECONDS):
            for done in list(self._logs.values()):
                await done.wait()
        self._logs_stop.set()


def _waiting_reason(pod: dict[str, Any], container: str) -> str | None:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == container:
            waiting = (status.get("state") or {}).get("waiting") or {}
            if waiting.get("reason"):
                message = waiting.get("message")
                return f"{waiting['reason']}: {message}" if message else str(waiting["reason"])
    phase = (pod.get("status") or {}).get("phase")
    return f"the pod is {phase}" if phase else None
