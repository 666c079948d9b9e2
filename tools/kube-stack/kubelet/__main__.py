"""A small kubelet for tests: ``python tools/kube-stack/kubelet --kubeconfig ...``.

Why it exists: the Debian sources build the control plane but no kubelet can run here, and
the plugin must be tested against real pods. This one registers a Node, schedules pods
onto it (scheduler.py), runs their first container with the local Docker engine
(runtime.py, pods.py), reports status and Events like the real kubelet, and serves logs
to the API server (logs.py). On SIGTERM it removes every container it started.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any

import node
from events import EventRecorder
from informer import PodInformer
from kubernetes import client, config
from logs import LogServer
from pods import PodWorker
from runtime import Runtime
from scheduler import Scheduler


def _api(kubeconfig: str) -> client.ApiClient:
    configuration = client.Configuration()
    config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=kubeconfig, client_configuration=configuration
    )
    configuration.connection_pool_maxsize = 16
    return client.ApiClient(configuration)


def main() -> None:
    parser = argparse.ArgumentParser(description="shipway test kubelet")
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--node-name", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--stack-id", required=True)
    parser.add_argument("--max-pods", type=int, default=int(node.CAPACITY["pods"]))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    core = client.CoreV1Api(_api(args.kubeconfig))
    watch_core = client.CoreV1Api(_api(args.kubeconfig))  # its own connections for the watch
    runtime = Runtime(args.stack_id)
    events = EventRecorder(core, args.node_name)
    labels = node.labels(args.node_name)
    node.CAPACITY["pods"] = str(args.max_pods)
    scheduler = Scheduler(core, events, args.node_name, labels, node.CAPACITY)
    stopping = threading.Event()

    worker: PodWorker | None = None

    def changed(key: str) -> None:
        if worker is not None:
            worker.notify(key)

    informer = PodInformer(watch_core, changed)
    worker = PodWorker(core, informer, runtime, scheduler, events, args.node_name)
    LogServer(args.port, args.cert, args.key, informer, runtime).serve_in_background()
    node.register(core, args.node_name, args.port)

    def stop(signum: int, frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    coordination = client.CoordinationV1Api(core.api_client)
    threads = [
        threading.Thread(target=informer.run, args=(stopping,), daemon=True, name="informer"),
        threading.Thread(target=worker.run, args=(stopping,), daemon=True, name="pods"),
        threading.Thread(
            target=node.heartbeat,
            args=(core, coordination, args.node_name, args.port, stopping),
            daemon=True,
            name="heartbeat",
        ),
    ]
    for thread in threads:
        thread.start()
    logging.getLogger("kubelet").info("node %s ready, logs on port %s", args.node_name, args.port)
    stopping.wait()
    logging.getLogger("kubelet").info("stopping: removing this stack's containers")
    runtime.remove_all()


if __name__ == "__main__":
    main()
