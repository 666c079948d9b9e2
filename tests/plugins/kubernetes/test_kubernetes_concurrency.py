"""An agent follows more Kubernetes runs at once than anyio's default thread limiter has
threads (40), and every run ends, exactly once.

The regression this guards: each followed run held worker threads for its watches, so at
about 20 concurrent runs none was left to submit, read status or deliver events, and the
agent deadlocked (and ignored SIGTERM). The pods are the test kubelet's simulated ones
(``kube-stack.shipway.io/simulate``: Running for 2 s, then Succeeded, no container), so
what is measured is the plugin and the control plane, not Docker.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest
from _kube_jobs import leftovers
from _kube_stack import KubeCluster

from _agent_helpers import wait_for
from _agent_load import load_store, run_through_agent, start_agent
from shipway.states import StateType

SIMULATE = "kube-stack.shipway.io/simulate"
IMAGE = "shipway-simulated:never-pulled"
"""A simulated pod starts no container: its image is never looked at."""
RUNS = 50
"""More than anyio's default thread limiter (40 threads): the old design deadlocked at ~20."""
BOUND_SECONDS = 240.0
"""Far above what 50 runs of 2 s take here (about 30 s on a loaded 2-core machine), far
below the hang it guards against (minutes, forever)."""


def simulated(cluster: KubeCluster, namespace: str, seconds: float) -> dict[str, Any]:
    return {
        "type": "kubernetes-job",
        "namespace": namespace,
        "kubeconfig": str(cluster.kubeconfig),
        "context": cluster.context,
        "image": IMAGE,
        "image_pull_policy": "IfNotPresent",
        "annotations": {SIMULATE: str(seconds)},
        "pod_watch_timeout_seconds": BOUND_SECONDS,
    }


@pytest.fixture
def local_stack_only(kube_cluster: KubeCluster) -> None:
    if kube_cluster.real:
        pytest.skip("simulated pods need the test kubelet (tools/kube-stack)")


@pytest.mark.usefixtures("local_stack_only")
def test_an_agent_completes_more_concurrent_runs_than_the_default_thread_limiter_has_threads(
    kube_cluster: KubeCluster, kube_namespace: str, tmp_path: Path
) -> None:
    load = run_through_agent(
        tmp_path / "home",
        simulated(kube_cluster, kube_namespace, seconds=2),
        runs=RUNS,
        limit=RUNS + 10,
        timeout=BOUND_SECONDS,
    )

    assert load.exit_code == 0 and load.seconds < BOUND_SECONDS, load.output
    assert load.not_completed_once() == {}, load.output
    assert len(load.histories) == RUNS


@pytest.mark.usefixtures("local_stack_only")
def test_sigterm_twice_stops_an_agent_following_many_runs_and_leaves_no_job(
    kube_cluster: KubeCluster, kube_namespace: str, tmp_path: Path
) -> None:
    """The first SIGTERM stops claiming, the second cancels the runs: the agent deletes
    their Jobs and exits promptly, with no worker thread left blocked."""
    home = tmp_path / "home"
    long_runs = simulated(kube_cluster, kube_namespace, seconds=600)
    store, ids = load_store(home, long_runs, RUNS)
    try:
        agent = start_agent(store, home, "--limit", str(RUNS + 10))
        try:
            wait_for(
                lambda: store.count_flow_runs(states=[StateType.RUNNING]) == RUNS,
                BOUND_SECONDS,
                f"{RUNS} runs to be Running",
            )
            agent.signal(signal.SIGTERM)
            time.sleep(1)
            agent.signal(signal.SIGTERM)
            started = time.monotonic()
            exit_code = agent.wait(120)
            stopped_in = time.monotonic() - started
        finally:
            agent.stop()
        states = {run_id: store.get_flow_run(run_id).state for run_id in ids}
    finally:
        store.close()

    assert stopped_in < 60, agent.output
    assert exit_code == 0, agent.output
    assert set(states.values()) == {StateType.CANCELLED}, states
    wait_for(lambda: not leftovers(kube_cluster, kube_namespace), 60, "the Jobs to be deleted")
