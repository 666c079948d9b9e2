"""The Kubernetes cluster the plugin tests run against.

Fixture API (defined in ``conftest.py`` of this directory; code against these names):

``kube_cluster`` (session) -> :class:`KubeCluster`
    ``kubeconfig`` (Path, admin: client cert in ``system:masters``), ``limited_kubeconfig``
    (Path, user ``shipway-limited`` with no RBAC binding: every namespaced call is a 403),
    ``context`` (str, the context name in both files), ``server`` (str, https URL),
    ``real`` (bool: True when testing against a real cluster, see below),
    ``api_client(kubeconfig=None)`` -> ``kubernetes.client.ApiClient`` (admin by default),
    ``core()`` -> ``CoreV1Api``, ``batch()`` -> ``BatchV1Api``, ``stack_dir`` (Path or
    None; the local stack's state: logs, certs). The ``cluster uid`` the plugin reports is
    the ``kube-system`` namespace's uid, as usual.

    ``check_alive()``: raises :class:`StackDied` (the dead components and the end of their
    logs) when a component of the local stack is no longer running; a no-op for a real
    cluster. Every test using the cluster is checked before and after (conftest), and
    ``_kube_jobs.bounded`` checks every second while it waits, so a crashed API server
    fails the test at once, saying so, instead of letting it time out.

``kube_namespace`` (function) -> str
    A fresh namespace (``shipway-test-<random>``) whose ``default`` service account
    exists; deleted (Background propagation) when the test ends.

``runtime_image`` (session) -> str
    A local Docker image tag with Python, shipway core and the test project at its
    WORKDIR (the Docker tests' runtime image); ``python -m shipway...`` and the flows in
    ``shipway.testing.flows`` work in it. The local kubelet runs it from the local engine,
    so use ``imagePullPolicy: IfNotPresent`` or ``Never``.

``fault_proxy`` (function) -> :class:`_fault_proxy.FaultProxy`
    A TLS-terminating proxy in front of the API server. ``kubeconfig`` (Path, admin
    credentials, server = the proxy), ``drop_connections()`` (close every open
    connection now, watches and log streams included), ``fail_next(count, status=503)``
    (answer the next ``count`` requests itself with that status), ``stall_watches(True)``
    (watch requests are accepted and then receive nothing, until ``stall_watches(False)``
    or ``reset()``), ``reset()``, ``requests`` (list of ``"METHOD path?query"`` seen).
    Local stack only (tests using it are skipped with a real cluster).

Marker ``real_cluster``: tests that also run, unchanged, against a real cluster: the one
``SHIPWAY_TEST_KUBECONFIG`` names, or ``KUBECONFIG``'s when the run selects the marker
(``pytest -m real_cluster``); ``SHIPWAY_TEST_KUBE_CONTEXT`` picks a context. An ambient
``KUBECONFIG`` alone never sends the default run to a cluster. Without a real cluster the
local stack (tools/kube-stack) is started once per session from binaries cached by
``tools/kube-stack/build.sh``; when they are missing the tests skip locally and fail in CI.

What the local stack is: real etcd, kube-apiserver and kube-controller-manager (Debian's
Kubernetes 1.20 sources, built offline), plus a small Python kubelet
(tools/kube-stack/kubelet) that schedules pods onto its one node, runs their first
container with the local Docker engine and serves their logs through the API server.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
STACK_SCRIPT = ROOT / "tools" / "kube-stack" / "stack.py"
BUILD_SCRIPT = "tools/kube-stack/build.sh"


def cache_root() -> Path:
    """Where build.sh keeps the binaries (outside the checkout)."""
    return Path(os.environ.get("SHIPWAY_KUBE_CACHE", "/var/cache/shipway-k8s"))


@dataclass
class KubeCluster:
    """One cluster the tests talk to, with an admin and a limited identity."""

    kubeconfig: Path
    limited_kubeconfig: Path | None
    context: str
    server: str
    real: bool
    stack_dir: Path | None = None

    def check_alive(self) -> None:
        """Raise StackDied when a component of the local stack has stopped running."""
        if self.stack_dir is None:
            return
        problems = _stack_module().dead_components(self.stack_dir)
        if problems:
            raise StackDied("the local Kubernetes stack is broken:\n" + "\n".join(problems))

    def api_client(self, kubeconfig: Path | None = None) -> Any:
        """A ``kubernetes.client.ApiClient`` for ``kubeconfig`` (admin by default)."""
        from kubernetes import client

        return client.ApiClient(_configuration(kubeconfig or self.kubeconfig, self.context))

    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api_client())

    def batch(self) -> Any:
        from kubernetes import client

        return client.BatchV1Api(self.api_client())


class StackDied(Exception):
    """A component of the local stack (the API server, etcd, ...) is no longer running."""


@functools.lru_cache(maxsize=1)
def _stack_module() -> Any:
    """tools/kube-stack/stack.py as a module (its health check, stdlib only)."""
    spec = importlib.util.spec_from_file_location("_kube_stack_script", STACK_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def binaries_present() -> bool:
    bin_dir = cache_root() / "bin"
    return all((bin_dir / name).is_file() for name in ("kube-apiserver", "kube-controller-manager"))


REAL_CLUSTER_MARKER = "real_cluster"


def real_cluster_kubeconfig(markexpr: str) -> str | None:
    """The kubeconfig of the real cluster to test against, or None for the local stack.

    ``SHIPWAY_TEST_KUBECONFIG`` always names one. ``KUBECONFIG`` does only when the run
    selects the marker (``pytest -m real_cluster``): a developer's ambient KUBECONFIG
    must never send the default test run to their cluster.
    """
    explicit = os.environ.get("SHIPWAY_TEST_KUBECONFIG")
    if explicit:
        return explicit
    ambient = os.environ.get("KUBECONFIG")
    if ambient and selects_real_cluster(markexpr):
        return ambient  # may list several files (os.pathsep): the client merges them
    return None


def selects_real_cluster(markexpr: str) -> bool:
    """``-m EXPR`` selects only tests marked real_cluster: true for a test carrying that
    marker alone, false for a test with no marker (``real_cluster``, ``real_cluster and
    not slow``; not ``not real_cluster`` or an empty expression)."""
    if not markexpr.strip():
        return False
    try:
        from _pytest.mark.expression import Expression  # what -m itself compiles with
    except ImportError:  # pragma: no cover - a pytest that moved it
        return markexpr.split() == [REAL_CLUSTER_MARKER]

    def only_the_marker(name: str, /, **_: str | int | bool | None) -> bool:
        return name == REAL_CLUSTER_MARKER

    def no_marker(name: str, /, **_: str | int | bool | None) -> bool:
        return False

    compiled = Expression.compile(markexpr)
    return compiled.evaluate(only_the_marker) and not compiled.evaluate(no_marker)


def real_cluster(markexpr: str = "") -> KubeCluster | None:
    """The real cluster :func:`real_cluster_kubeconfig` names, used unchanged (context:
    ``SHIPWAY_TEST_KUBE_CONTEXT``, else the file's current one); None when there is none."""
    path = real_cluster_kubeconfig(markexpr)
    if path is None:
        return None
    from kubernetes import config

    _, current = config.list_kube_config_contexts(config_file=path)  # type: ignore[no-untyped-call]
    context = os.environ.get("SHIPWAY_TEST_KUBE_CONTEXT") or current["name"]
    configuration = _configuration(Path(path), context)
    return KubeCluster(Path(path), None, context, configuration.host, real=True)


def _configuration(kubeconfig: Path, context: str) -> Any:
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=str(kubeconfig), context=context, client_configuration=configuration
    )
    return configuration


@contextlib.contextmanager
def local_stack(directory: Path) -> Iterator[KubeCluster]:
    """Start tools/kube-stack in ``directory``; stop it (everything) when the block ends."""
    started = time.monotonic()
    command = [sys.executable, str(STACK_SCRIPT)]
    result = subprocess.run(
        [*command, "start", "--dir", str(directory), "--owner", str(os.getpid())],
        capture_output=True,
        text=True,
        timeout=300,
    )
    try:
        if result.returncode != 0:
            raise RuntimeError(
                f"tools/kube-stack/stack.py start failed (exit {result.returncode}):\n"
                f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
            )
        sys.stderr.write(f"[kube-stack] started in {time.monotonic() - started:.1f} s\n")
        kubeconfig = directory / "admin.kubeconfig"
        yield KubeCluster(
            kubeconfig=kubeconfig,
            limited_kubeconfig=directory / "limited.kubeconfig",
            context="shipway-test",
            server=_configuration(kubeconfig, "shipway-test").host,
            real=False,
            stack_dir=directory,
        )
    finally:
        subprocess.run([*command, "stop", "--dir", str(directory)], timeout=120, check=False)


def create_namespace(cluster: KubeCluster, timeout: float = 60.0) -> str:
    """A fresh namespace whose ``default`` service account exists with its token secret
    (Kubernetes 1.20 refuses pods until the token controller has made it)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    core = cluster.core()
    name = f"shipway-test-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    deadline = time.monotonic() + timeout
    while True:
        try:
            account = core.read_namespaced_service_account("default", name)
            if account.secrets or not makes_token_secrets(cluster):
                return name
        except ApiException as exc:
            if exc.status != 404:
                raise
        if time.monotonic() > deadline:
            raise TimeoutError(f"no default service account in namespace {name} after {timeout} s")
        time.sleep(0.2)


@functools.lru_cache(maxsize=8)
def _server_version(server: str, kubeconfig: Path, context: str) -> tuple[int, int]:
    from kubernetes import client

    info = client.VersionApi(client.ApiClient(_configuration(kubeconfig, context))).get_code()
    return int(info.major), int("".join(ch for ch in info.minor if ch.isdigit()) or 0)


def makes_token_secrets(cluster: KubeCluster) -> bool:
    """Before 1.24 a pod is refused until its service account's token secret exists;
    later versions make none (pods get projected tokens)."""
    return _server_version(cluster.server, cluster.kubeconfig, cluster.context) < (1, 24)


def delete_namespace(cluster: KubeCluster, name: str) -> None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    with contextlib.suppress(ApiException):
        cluster.core().delete_namespace(
            name, body=client.V1DeleteOptions(propagation_policy="Background")
        )
