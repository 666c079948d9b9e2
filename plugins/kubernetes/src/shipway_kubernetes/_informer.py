"""One watch of shipway's Jobs and one of their pods per cluster and namespace, shared by
every run an event loop follows there (what client-go calls an informer).

Each run used to hold two watches, each blocking a worker thread for as long as the run
lasted: an agent ran out of threads at about 20 concurrent runs and deadlocked. Here a
namespace's Jobs and pods are listed and watched once, by shipway's label (``RUN_LABEL``),
on two threads of their own, resuming from the last ``resourceVersion`` and listing
afresh after 410 Gone (see ``_watch``). Each event is handed to the event loop and fanned
out to the runs that follow that Job; objects of Jobs nobody follows are dropped, so the
memory used grows with the runs followed, not with the Jobs left in the namespace.

A run subscribes *before* it creates its Job, so no event about it can be missed. The
watches start with the first subscription and stop with the last one. When they give up
(the API server unreachable for ``RETRY_SECONDS``, or a 403), every run following them
gets the error, and the next subscription starts afresh.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.from_thread
from anyio.lowlevel import EventLoopToken, RunVar, current_token
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from shipway_kubernetes._cluster import Cluster
from shipway_kubernetes._manifest import RUN_LABEL
from shipway_kubernetes._watch import ResumableWatch

__all__ = ["Event", "essentials", "following"]

Event = tuple[str, str, Any]
"""``(kind, event type, object)``: kind ``"job"``, ``"pod"`` or ``"error"`` (the object
is then the exception); event types as the API's (``ADDED``, ``MODIFIED``, ``DELETED``)
or ``LISTED`` for an object found by a (re-)list."""

LIST_BATCH = 500
"""Events of one (re-)list handed to the event loop together."""


KEPT_METADATA = ("name", "namespace", "uid", "labels", "creationTimestamp", "deletionTimestamp")
"""What a run reads of a Job's or pod's metadata; with ``status``, all it reads. The rest
(the spec with the job hand-over in its env, managedFields) is dropped as events arrive:
a thousand followed runs would otherwise keep megabytes of it."""


def essentials(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` with only what following a run needs: some metadata, and the status."""
    metadata = obj.get("metadata") or {}
    kept = {key: metadata[key] for key in KEPT_METADATA if key in metadata}
    return {"metadata": kept, "status": obj.get("status") or {}}


def _run_of(obj: dict[str, Any]) -> str | None:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    run = labels.get(RUN_LABEL)
    return str(run) if run else None


def _name_of(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


@dataclass
class _Subscription:
    send: MemoryObjectSendStream[Event]
    receive: MemoryObjectReceiveStream[Event]


@dataclass
class _Kind:
    """What one of the two watches knows, for followed Jobs only."""

    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # by object name
    relisted: set[str] | None = None  # names seen since a (re-)list began


class NamespaceInformer:
    """The shared watches of one namespace; all methods but the threads' run on the loop."""

    def __init__(self, cluster: Cluster, namespace: str, token: EventLoopToken) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self._token = token
        self._subscriptions: dict[str, list[_Subscription]] = {}
        self._kinds = {"job": _Kind(), "pod": _Kind()}
        self._stop = threading.Event()
        self.failed = False
        selector = {"namespace": namespace, "label_selector": RUN_LABEL}
        self.watches = {
            "job": ResumableWatch(
                cluster.batch().list_namespaced_job,
                cluster.server,
                f"shipway's Jobs in namespace {namespace}",
                self._stop,
                **selector,
            ),
            "pod": ResumableWatch(
                cluster.core().list_namespaced_pod,
                cluster.server,
                f"the pods of shipway's Jobs in namespace {namespace}",
                self._stop,
                **selector,
            ),
        }

    # -- on the event loop --------------------------------------------------------------

    def start(self) -> None:
        for kind, watch in self.watches.items():
            threading.Thread(
                target=self._read,
                args=(kind, watch),
                daemon=True,  # an agent exiting does not wait for a watch to end
                name=f"shipway-kubernetes {kind} watch {self.namespace}",
            ).start()

    def subscribe(self, job_name: str) -> MemoryObjectReceiveStream[Event]:
        """The events about Job ``job_name`` and its pods, starting with what is known."""
        send, receive = anyio.create_memory_object_stream[Event](math.inf)
        self._subscriptions.setdefault(job_name, []).append(_Subscription(send, receive))
        for kind, known in self._kinds.items():
            for obj in known.objects.values():
                if _run_of(obj) == job_name or (kind == "job" and _name_of(obj) == job_name):
                    send.send_nowait((kind, "LISTED", obj))
        return receive

    def unsubscribe(self, job_name: str, receive: MemoryObjectReceiveStream[Event]) -> None:
        subscriptions = self._subscriptions.get(job_name, [])
        for subscription in list(subscriptions):
            if subscription.receive is receive:
                subscriptions.remove(subscription)
                subscription.send.close()
        receive.close()
        if not subscriptions:
            self._subscriptions.pop(job_name, None)
            for known in self._kinds.values():
                for name, obj in list(known.objects.items()):
                    if _run_of(obj) == job_name or _name_of(obj) == job_name:
                        del known.objects[name]

    @property
    def idle(self) -> bool:
        return not self._subscriptions

    def stop(self) -> None:
        """End both watches now (their threads end without waiting for the server)."""
        for watch in self.watches.values():
            watch.close()

    def _dispatch(self, kind: str, events: list[tuple[str, dict[str, Any]]]) -> None:
        known = self._kinds[kind]
        for event_type, obj in events:
            if event_type == "SYNCED":
                self._forget_unlisted(kind, known)
                continue
            name = _name_of(obj)
            if event_type == "LISTED":
                if known.relisted is None:
                    known.relisted = set()
                known.relisted.add(name)
            run = name if kind == "job" else _run_of(obj)
            if run is None or run not in self._subscriptions:
                continue  # a Job nobody here follows
            if event_type == "DELETED":
                known.objects.pop(name, None)
            else:
                known.objects[name] = obj
            self._send(run, (kind, event_type, obj))

    def _forget_unlisted(self, kind: str, known: _Kind) -> None:
        """After a re-list: what was known and is not listed any more was deleted while
        no watch was open."""
        listed = known.relisted or set()
        known.relisted = None
        for name, obj in list(known.objects.items()):
            if name not in listed:
                del known.objects[name]
                run = name if kind == "job" else _run_of(obj)
                if run is not None:
                    self._send(run, (kind, "DELETED", obj))

    def _send(self, job_name: str, event: Event) -> None:
        for subscription in self._subscriptions.get(job_name, []):
            with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                subscription.send.send_nowait(event)

    def _fail(self, error: Exception) -> None:
        """A watch gave up: every run following this namespace ends with its error."""
        self.failed = True
        self.stop()
        for job_name in list(self._subscriptions):
            self._send(job_name, ("error", "", error))

    # -- on the watch threads -----------------------------------------------------------

    def _read(self, kind: str, watch: ResumableWatch) -> None:
        deliver: Callable[..., None] = anyio.from_thread.run_sync
        pending: list[tuple[str, dict[str, Any]]] = []
        try:
            for event_type, obj in watch.events():
                pending.append((event_type, essentials(obj)))
                # a list arrives as one burst: hand it over in batches, the rest one by one
                if event_type == "LISTED" and len(pending) < LIST_BATCH:
                    continue
                deliver(self._dispatch, kind, pending, token=self._token)
                pending = []
        except Exception as exc:
            if self._stop.is_set():
                return
            with contextlib.suppress(Exception):  # the event loop may be gone
                deliver(self._fail, exc, token=self._token)


_informers: RunVar[dict[tuple[int, str], NamespaceInformer]] = RunVar(
    "shipway_kubernetes_informers"
)


def _registry() -> dict[tuple[int, str], NamespaceInformer]:
    try:
        return _informers.get()
    except LookupError:
        registry: dict[tuple[int, str], NamespaceInformer] = {}
        _informers.set(registry)
        return registry


@contextlib.asynccontextmanager
async def following(
    cluster: Cluster, namespace: str, job_name: str
) -> AsyncIterator[MemoryObjectReceiveStream[Event]]:
    """The events about Job ``job_name`` (and its pods) while the block runs, from the
    namespace's shared watches (started here if this is their first follower)."""
    registry = _registry()
    key = (id(cluster), namespace)
    informer = registry.get(key)
    if informer is None or informer.failed:
        informer = NamespaceInformer(cluster, namespace, current_token())
        registry[key] = informer
        informer.start()
    receive = informer.subscribe(job_name)
    try:
        yield receive
    finally:
        informer.unsubscribe(job_name, receive)
        if informer.idle:
            informer.stop()
            if registry.get(key) is informer:
                del registry[key]
