"""Build KubernetesJob instances that run the standard flows in the test cluster.

The runtime image holds shipway, whose package ships the standard flows
(``shipway/testing/flows``); the test kubelet supports no volumes, so the container
changes into that package directory, where ``flows/hello.py:hello`` resolves.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
from _kube_stack import KubeCluster

from shipway_kubernetes import KubernetesJob

T = TypeVar("T")

RUN_LIMIT_SECONDS = 300.0
"""Generous on purpose: no run in these tests comes near it. It only turns a run that
hangs into a failing test instead of a stuck CI job (conftest's watchdog catches the
rarer hang that blocks the event loop itself)."""


HEALTH_CHECK_SECONDS = 1.0
"""How often ``bounded`` checks, while it waits, that the local stack still runs."""
watched_cluster: KubeCluster | None = None
"""The session's cluster (set by conftest's ``kube_cluster``), checked by ``bounded``."""


def bounded(main: Callable[..., Awaitable[T]], *args: Any) -> T:
    """``anyio.run(main, *args)``, failed with TimeoutError after RUN_LIMIT_SECONDS, and
    with StackDied as soon as a component of the local stack stops running."""
    cluster = watched_cluster

    async def within_limit() -> T:
        outcome: list[T] = []
        failures: list[Exception] = []  # raised below, outside the task group's ExceptionGroup

        async def run_main() -> None:
            try:
                with anyio.fail_after(RUN_LIMIT_SECONDS):
                    outcome.append(await main(*args))
            except Exception as exc:
                failures.append(exc)
            tg.cancel_scope.cancel()

        async with anyio.create_task_group() as tg:
            tg.start_soon(run_main)
            while cluster is not None:
                await anyio.sleep(HEALTH_CHECK_SECONDS)
                try:
                    cluster.check_alive()
                except Exception as exc:
                    failures.insert(0, exc)  # the cause of whatever the run saw
                    tg.cancel_scope.cancel()
        if failures:
            raise failures[0]
        return outcome[0]

    return anyio.run(within_limit)


@functools.lru_cache(maxsize=4)
def testing_dir_in(image: str) -> str:
    """Where ``shipway/testing`` is inside ``image`` (asked once per image)."""
    import docker

    client = docker.from_env()
    try:
        printed = client.containers.run(
            image,
            ["python", "-c", "import os, shipway; print(os.path.dirname(shipway.__file__))"],
            remove=True,
        )
    finally:
        client.close()
    return str(printed.decode()).strip() + "/testing"


def kube_job(cluster: KubeCluster, namespace: str, image: str, **fields: Any) -> KubernetesJob:
    """A KubernetesJob for ``namespace`` that runs the standard flows from ``image``."""
    settings: dict[str, Any] = {
        "image": image,
        "namespace": namespace,
        "kubeconfig": cluster.kubeconfig,
        "context": cluster.context,
        "image_pull_policy": "IfNotPresent",
        "command": ["sh", "-c", f"cd {testing_dir_in(image)} && exec python -m shipway.engine"],
        "pod_watch_timeout_seconds": 60,
        **fields,
    }
    return KubernetesJob(**settings)


def leftovers(cluster: KubeCluster, namespace: str) -> list[str]:
    """The Jobs and pods still in ``namespace`` (not being deleted)."""
    jobs = cluster.batch().list_namespaced_job(namespace).items
    pods = cluster.core().list_namespaced_pod(namespace).items
    return [
        f"{kind}/{item.metadata.name}"
        for kind, items in (("job", jobs), ("pod", pods))
        for item in items
        if item.metadata.deletion_timestamp is None
    ]
