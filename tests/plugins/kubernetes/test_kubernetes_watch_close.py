"""Closing a watch or a log stream that a worker thread is blocked reading must not wait
for the server to speak.

The regression this guards: ``response.close()`` from the event loop waited for the read
in progress (the buffered reader's lock), so at the end of every run the loop froze until
the API server ended its quiet watches, up to a minute each, where no ``fail_after``
could fire. The server here is asked to keep the watch open for ten minutes: only the
interruption can end the reading thread within the test's (generous) wait.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from _kube_stack import KubeCluster

import shipway_kubernetes._watch as watch_module
from shipway_kubernetes._cluster import Cluster
from shipway_kubernetes._watch import ResumableWatch

GENEROUS_SECONDS = 60.0
"""Far below the server's ten minutes, far above what an interrupted read takes."""


def test_closing_a_silent_watch_ends_its_thread_without_waiting_for_the_server(
    kube_cluster: KubeCluster, kube_namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch_module, "WATCH_SECONDS", 600)
    cluster = Cluster(kube_cluster.api_client(), kube_cluster.server, "uid")
    stop = threading.Event()
    watch = ResumableWatch(
        cluster.core().list_namespaced_pod,
        cluster.server,
        "nothing",
        stop,
        namespace=kube_namespace,
        label_selector="shipway.io/run=nobody",
    )
    watching = threading.Event()
    outcome: list[Any] = []

    def read() -> None:
        try:
            for event in watch.events():
                outcome.append(event)
            outcome.append("ended")
        except Exception as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    # The watch is open once it has a response; nothing in the namespace: it stays silent.
    for _ in range(int(GENEROUS_SECONDS * 10)):
        if getattr(watch._watcher, "_resp", None) is not None:
            watching.set()
            break
        stop.wait(0.1)
    assert watching.is_set(), "the watch never opened"

    closer = threading.Thread(target=watch.close, daemon=True)
    closer.start()
    closer.join(GENEROUS_SECONDS)
    assert not closer.is_alive(), "close() waited for the server"
    reader.join(GENEROUS_SECONDS)
    assert not reader.is_alive(), "the reading thread did not end"
    # the (empty) listing, then a quiet end: no error for a deliberate close
    assert outcome == [("SYNCED", {}), "ended"], outcome
    cluster.close()
