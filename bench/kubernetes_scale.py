"""How many Kubernetes Jobs one agent submits and follows, against a real API server.

    .venv/bin/python bench/kubernetes_scale.py [--runs 1000] [--limit 1000]
        [--pod-seconds 0] [--case2-runs 100 --case2-pod-seconds 2]

Starts its own tools/kube-stack (build it first: tools/kube-stack/build.sh) with a node
that holds every pod at once, and makes the test kubelet *simulate* the pods
(annotation ``kube-stack.shipway.io/simulate``: no container, Running for
``--pod-seconds``, then Succeeded with exit 0): the cluster's real etcd, API server and
Job controller do their work, Docker does not, so what is measured is the agent and the
plugin. Two cases, each with a fresh SQLite store and one ``shipway agent start
--run-once``:

1. ``--runs`` runs (1,000) with ``--limit`` (1,000), pods that end at once: the time from
   the agent's start to its exit (every run submitted, followed and recorded), and the
   agent's peak RSS. Aim: <= 120 s and <= 150 MB, every run Completed exactly once.
2. the case that deadlocked before the shared watches: ``--case2-runs`` (100) runs of
   ``--case2-pod-seconds`` (2 s) pods, ``--limit`` 100.

Prints the figures; exits 0 whether or not the aims are met, 1 only when a run did not
end Completed exactly once (a correctness failure, not a timing one).
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the agent load helper the tests use too

from _agent_load import AgentLoad, run_through_agent  # noqa: E402

STACK = ROOT / "tools" / "kube-stack" / "stack.py"
SIMULATE = "kube-stack.shipway.io/simulate"
AIM_SECONDS = 120.0
AIM_RSS_MB = 150.0


def start_stack(directory: Path, max_pods: int) -> Path:
    result = subprocess.run(
        [sys.executable, str(STACK), "start", "--dir", str(directory), "--owner", str(os.getpid()),
         "--max-pods", str(max_pods)],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        sys.exit(f"the kube-stack did not start:\n{result.stderr[-3000:]}")
    return directory / "admin.kubeconfig"


def create_namespace(kubeconfig: Path) -> str:
    """A fresh namespace whose default service account has its token (1.20 needs it)."""
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=str(kubeconfig))
    core = client.CoreV1Api(api)
    name = f"bench-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        accounts = core.list_namespaced_service_account(name).items
        if any(account.secrets for account in accounts):
            return name
        time.sleep(0.2)
    sys.exit(f"namespace {name} got no default service account token in 60 s")


def infrastructure(kubeconfig: Path, namespace: str, pod_seconds: float) -> dict[str, Any]:
    return {
        "type": "kubernetes-job",
        "namespace": namespace,
        "kubeconfig": str(kubeconfig),
        "context": "shipway-test",
        "image": "shipway-simulated:never-pulled",
        "image_pull_policy": "IfNotPresent",
        "annotations": {SIMULATE: f"{pod_seconds:g}"},
        "pod_watch_timeout_seconds": 600,
    }


def report(label: str, runs: int, limit: int, load: AgentLoad, aims: bool) -> bool:
    wrong = load.not_completed_once()
    completed = sum(1 for states in load.histories.values() if states[-1:] and
                    states[-1].value == "Completed")
    print(f"{label}: {runs} runs, --limit {limit}")
    print(f"  agent start to exit    {load.seconds:8.1f} s"
          + (f"   (aim <= {AIM_SECONDS:g} s)" if aims else ""))
    print(f"  throughput             {runs / load.seconds:8.1f} runs/s")
    print(f"  agent peak RSS         {load.peak_rss_mb:8.1f} MB"
          + (f"   (aim <= {AIM_RSS_MB:g} MB)" if aims else ""))
    print(f"  Completed exactly once {runs - len(wrong):8d} of {runs} ({completed} end Completed)")
    if load.exit_code != 0:
        print(f"  the agent exited {load.exit_code}; its last output:\n{load.output[-2000:]}")
    for run_id, states in list(wrong.items())[:5]:
        print(f"  run {run_id}: {' -> '.join(states)}")
    return not wrong and load.exit_code == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--pod-seconds", type=float, default=0.0)
    parser.add_argument("--case2-runs", type=int, default=100, help="0: skip case 2")
    parser.add_argument("--case2-pod-seconds", type=float, default=2.0)
    parser.add_argument("--timeout", type=float, default=900.0, help="per case (default 900 s)")
    args = parser.parse_args()
    # SIGTERM ends the script through its finally blocks: the agent and the stack stop too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(f"stopped by signal {signum}"))

    print(f"machine: {platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    ok = True
    with tempfile.TemporaryDirectory(prefix="shipway-kube-scale-") as scratch:
        root = Path(scratch)
        kubeconfig = start_stack(root / "stack", max(args.runs, args.case2_runs) + 100)
        try:
            cases = [("case 1", args.runs, args.limit, args.pod_seconds, True)]
            if args.case2_runs:
                cases.append(("case 2", args.case2_runs, args.case2_runs,
                              args.case2_pod_seconds, False))
            for label, runs, limit, pod_seconds, aims in cases:
                namespace = create_namespace(kubeconfig)
                load = run_through_agent(
                    root / label.replace(" ", "-"),
                    infrastructure(kubeconfig, namespace, pod_seconds),
                    runs=runs,
                    limit=limit,
                    timeout=args.timeout,
                )
                ok = report(f"{label} ({pod_seconds:g} s pods)", runs, limit, load, aims) and ok
        finally:
            subprocess.run([sys.executable, str(STACK), "stop", "--dir", str(root / "stack")],
                           check=False)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
