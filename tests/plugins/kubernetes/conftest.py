"""Fixtures for the Kubernetes tests: a real control plane (see _kube_stack.py for the
fixture API), started once per session from the binaries tools/kube-stack/build.sh
caches, or a real cluster, used unchanged: the one ``SHIPWAY_TEST_KUBECONFIG`` names, or
``KUBECONFIG``'s when the run selects ``-m real_cluster``."""

from __future__ import annotations

import faulthandler
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import _kube_jobs
import pytest
from _fault_proxy import FaultProxy, running_proxy
from _kube_stack import (
    BUILD_SCRIPT,
    REAL_CLUSTER_MARKER,
    KubeCluster,
    StackDied,
    binaries_present,
    cache_root,
    create_namespace,
    delete_namespace,
    local_stack,
    real_cluster,
    real_cluster_kubeconfig,
)

import _ci

DOCKER_TESTS = Path(__file__).resolve().parent.parent / "docker"
if str(DOCKER_TESTS) not in sys.path:
    sys.path.append(str(DOCKER_TESTS))  # the Docker tests' image helpers, reused

import _docker_images  # noqa: E402


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Against a real cluster only the tests marked ``real_cluster`` run."""
    if real_cluster_kubeconfig(config.getoption("markexpr") or "") is None:
        return
    skip = pytest.mark.skip(reason="testing against a real cluster: only real_cluster tests")
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.path)).parents and REAL_CLUSTER_MARKER not in item.keywords:
            item.add_marker(skip)


HANG_SECONDS = float(os.environ.get("SHIPWAY_TEST_HANG_SECONDS", "600"))
"""Far beyond any test here (the slowest takes seconds): only a hang gets there."""


@pytest.fixture(autouse=True)
def hang_watchdog(request: pytest.FixtureRequest) -> Iterator[None]:
    """The last resort for a hang that no timeout inside the test can end (a blocked
    event loop ignores ``anyio.fail_after``): print every thread's stack and end the
    session with an error, so CI fails with a diagnosis instead of stalling. The local
    stack, started with ``--owner``, stops by itself when the session ends this way."""
    faulthandler.dump_traceback_later(HANG_SECONDS, exit=True, file=_terminal(request.config))
    yield
    faulthandler.cancel_dump_traceback_later()


def _terminal(config: pytest.Config) -> int:
    """The session's real stderr (not the test's captured one, lost on exit): pytest's
    faulthandler plugin keeps a copy of it."""
    try:
        from _pytest.faulthandler import fault_handler_stderr_fd_key

        return config.stash[fault_handler_stderr_fd_key]
    except (ImportError, KeyError):  # that plugin disabled or moved
        return sys.__stderr__.fileno() if sys.__stderr__ is not None else 2


@pytest.fixture(autouse=True)
def stack_alive(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test using the cluster starts only on a live stack, and one during which a
    component died fails saying so (with the end of its log), not with a timeout."""
    if "kube_cluster" not in request.fixturenames:
        yield
        return
    cluster: KubeCluster = request.getfixturevalue("kube_cluster")
    try:
        cluster.check_alive()
    except StackDied as exc:
        pytest.fail(str(exc), pytrace=False)
    yield
    try:
        cluster.check_alive()
    except StackDied as exc:
        pytest.fail(f"during this test: {exc}", pytrace=False)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def kube_cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KubeCluster]:
    """The cluster under test; the local stack is stopped (nothing left) at session end."""
    real = real_cluster(request.config.getoption("markexpr") or "")
    if real is not None:
        yield real
        return
    if not binaries_present():
        _ci.unavailable(
            f"no Kubernetes binaries in {cache_root() / 'bin'}: run {BUILD_SCRIPT} "
            "(builds kube-apiserver and kube-controller-manager once, about 11 minutes)",
            tests="Kubernetes",
        )
    _docker_images.connect().close()  # the kubelet runs pods with the local engine
    with local_stack(tmp_path_factory.mktemp("kube-stack")) as cluster:
        _kube_jobs.watched_cluster = cluster
        try:
            yield cluster
        finally:
            _kube_jobs.watched_cluster = None


@pytest.fixture
def kube_namespace(kube_cluster: KubeCluster) -> Iterator[str]:
    """A fresh namespace with its ``default`` service account; deleted afterwards."""
    name = create_namespace(kube_cluster)
    yield name
    delete_namespace(kube_cluster, name)


@pytest.fixture(scope="session")
def runtime_image(kube_cluster: KubeCluster) -> Iterator[str]:
    """The Docker tests' runtime image (python, shipway, the test project) by tag."""
    client = _docker_images.connect()
    base = _docker_images.ensure_base_image(client)
    with _docker_images.runtime_image_in_use(client, base) as tag:
        yield tag
    client.close()


@pytest.fixture(scope="session")
def base_image(kube_cluster: KubeCluster) -> str:
    """A small local image with python3 (Debian), for tests that need no shipway."""
    client = _docker_images.connect()
    try:
        return str(_docker_images.ensure_base_image(client))
    finally:
        client.close()


@pytest.fixture
def fault_proxy(kube_cluster: KubeCluster, tmp_path: Path) -> Iterator[FaultProxy]:
    """A fault-injecting proxy in front of the local API server (see _fault_proxy.py)."""
    if kube_cluster.stack_dir is None:
        pytest.skip("the fault proxy needs the local stack (testing against a real cluster)")
    pki = kube_cluster.stack_dir / "pki"
    with running_proxy(
        kube_cluster.kubeconfig, pki / "apiserver.crt", pki / "apiserver.key", tmp_path
    ) as proxy:
        yield proxy
