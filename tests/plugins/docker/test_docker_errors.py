"""Things that go wrong before a flow runs are one clear InfrastructureError each:
a missing image, a failed pull, an unknown network, an engine that cannot be reached."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator

import anyio
import docker
import pytest
from _docker_images import DockerCleanup
from _docker_run_helpers import WAIT_SECONDS, RecordingSink, checks_job, run_in_foreground

from shipway.infrastructure import InfrastructureError, InfrastructureUnreachable, output_sink
from shipway_docker import DockerContainer
from shipway_docker._engine import engine_address

pytestmark = pytest.mark.anyio


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


def leftovers(client: docker.DockerClient, cleanup: DockerCleanup) -> list[object]:
    return client.containers.list(all=True, filters={"label": cleanup.label_filter})


async def test_a_missing_image_with_pull_policy_never_says_how_to_get_it(
    sink: RecordingSink, docker_client: docker.DockerClient, docker_cleanup: DockerCleanup
) -> None:
    image = f"shipway-test/absent:{docker_cleanup.run_id}"
    infrastructure = DockerContainer(
        image=image, image_pull_policy="Never", labels=docker_cleanup.labels
    )

    with pytest.raises(InfrastructureError) as caught:
        await run_in_foreground(infrastructure, checks_job("echo"), sink)

    error = caught.value
    assert f"image {image!r} is not on the Docker engine" in error.message
    assert "the pull policy is never" in error.message
    assert error.hint is not None
    assert f"shipway image build . --tag {image}" in error.hint
    assert "if_not_present" in error.hint
    assert leftovers(docker_client, docker_cleanup) == []


async def test_a_failed_pull_names_the_image_and_the_registrys_answer(
    sink: RecordingSink, docker_client: docker.DockerClient, docker_cleanup: DockerCleanup
) -> None:
    # Nothing listens on port 1: the engine's pull fails at once, with no network needed.
    image = "127.0.0.1:1/shipway-test/absent:1"
    infrastructure = DockerContainer(image=image, labels=docker_cleanup.labels)
    assert infrastructure.pull_policy == "if_not_present"

    with pytest.raises(InfrastructureError) as caught:
        await run_in_foreground(infrastructure, checks_job("echo"), sink)

    message = caught.value.message
    assert message.startswith(f"cannot pull image {image!r} from 127.0.0.1:1: ")
    assert "connection refused" in message.lower()
    assert leftovers(docker_client, docker_cleanup) == []


async def test_an_unknown_network_is_an_error_and_leaves_no_container(
    runtime_image: str,
    sink: RecordingSink,
    docker_client: docker.DockerClient,
    docker_cleanup: DockerCleanup,
) -> None:
    network = f"shipway-test-absent-{docker_cleanup.run_id}"
    infrastructure = DockerContainer(
        image=runtime_image,
        image_pull_policy="never",
        networks=[network],
        labels=docker_cleanup.labels,
    )

    with pytest.raises(InfrastructureError) as caught:
        await run_in_foreground(infrastructure, checks_job("echo"), sink)

    # Depending on the engine's version, creating or starting the container refuses it.
    assert f"network {network} not found" in caught.value.message
    assert leftovers(docker_client, docker_cleanup) == []


@pytest.mark.parametrize(
    ("docker_host", "reason"),
    [
        ("unix:///nonexistent.sock", "No such file or directory"),
        ("tcp://127.0.0.1:1", "Connection refused"),
    ],
)
async def test_an_unreachable_engine_is_one_clear_error(
    sink: RecordingSink, docker_host: str, reason: str
) -> None:
    infrastructure = DockerContainer(image="flows:1", docker_host=docker_host)

    for attempt in (
        run_in_foreground(infrastructure, checks_job("echo"), sink),
        infrastructure.kill(f"ENGINE:{'a' * 64}", grace_seconds=1),
    ):
        with pytest.raises(InfrastructureError) as caught:
            await attempt
        error = caught.value
        assert isinstance(error, InfrastructureUnreachable)
        assert error.message == f"cannot reach the Docker engine at {docker_host}: {reason}"
        assert error.hint is not None and "DOCKER_HOST" in error.hint
        assert error.__cause__ is None and error.__suppress_context__  # no chained traceback


async def test_docker_host_defaults_to_the_environment(
    sink: RecordingSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")

    with pytest.raises(InfrastructureError, match=r"at unix:///nonexistent\.sock: "):
        await run_in_foreground(DockerContainer(image="flows:1"), checks_job("echo"), sink)


async def test_cancelling_a_run_whose_engine_does_not_answer_is_prompt(
    sink: RecordingSink,
) -> None:
    # Connections are queued by the kernel but never answered, as on a hung engine; the
    # client would wait for its 60-second timeout.
    silent = socket.create_server(("127.0.0.1", 0))
    infrastructure = DockerContainer(
        image="flows:1", docker_host=f"tcp://127.0.0.1:{silent.getsockname()[1]}"
    )
    try:
        with output_sink(sink), anyio.fail_after(30):  # well under the client's timeout
            with anyio.move_on_after(0.5) as attempt:
                await infrastructure.run(checks_job("echo"))
        assert attempt.cancelled_caught
    finally:
        silent.close()  # the abandoned connection attempt fails and its thread ends


class EngineProxy:
    """A TCP door to the test engine that can be shut, like an engine going away:
    every connection through it is cut, and no new one is accepted."""

    def __init__(self, engine: str) -> None:
        if engine.startswith("unix://"):
            self._target: tuple[socket.AddressFamily, object] = (
                socket.AF_UNIX,
                engine.removeprefix("unix://"),
            )
        elif engine.startswith("tcp://") and not os.environ.get("DOCKER_TLS_VERIFY"):
            host, _, port = engine.removeprefix("tcp://").rpartition(":")
            self._target = (socket.AF_INET, (host, int(port)))
        else:
            pytest.skip(f"cannot put a plain TCP proxy in front of the engine at {engine}")
        self._server = socket.create_server(("127.0.0.1", 0))
        self.address = f"tcp://127.0.0.1:{self._server.getsockname()[1]}"
        self._sockets: list[socket.socket] = []
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:  # cut
                return
            family, address = self._target
            engine = socket.socket(family)
            engine.connect(address)
            self._sockets += [client, engine]
            for source, sink in ((client, engine), (engine, client)):
                thread = threading.Thread(target=self._pipe, args=(source, sink), daemon=True)
                self._threads.append(thread)
                thread.start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)

    def cut(self) -> None:
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)  # wakes accept()
        self._server.close()
        for connection in list(self._sockets):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.cut()
        for thread in self._threads:
            thread.join(timeout=10)
        for connection in self._sockets:
            connection.close()


@pytest.fixture
def engine_proxy() -> Iterator[EngineProxy]:
    proxy = EngineProxy(engine_address(None))
    yield proxy
    proxy.close()


async def test_an_engine_going_away_during_a_run_is_one_clear_error(
    runtime_image: str,
    sink: RecordingSink,
    engine_proxy: EngineProxy,
    docker_client: docker.DockerClient,
    docker_cleanup: DockerCleanup,
) -> None:
    infrastructure = DockerContainer(
        image=runtime_image,
        image_pull_policy="never",
        docker_host=engine_proxy.address,
        labels=docker_cleanup.labels,
    )

    async def cut_once_started() -> None:
        await sink.wait_for(b"started")
        engine_proxy.cut()

    with output_sink(sink), anyio.fail_after(WAIT_SECONDS):
        async with anyio.create_task_group() as tg:
            tg.start_soon(cut_once_started)
            with pytest.raises(InfrastructureError) as caught:
                await infrastructure.run(checks_job("sleeper"))

    error = caught.value
    assert error.message.startswith(f"cannot reach the Docker engine at {engine_proxy.address}: ")
    assert error.__cause__ is None and error.__suppress_context__  # no chained traceback
    # The run could not stop its container: the hint says so, and how to stop it.
    (container,) = docker_client.containers.list(filters={"label": docker_cleanup.label_filter})
    assert error.hint is not None
    assert f"`docker stop {container.id[:12]}`" in error.hint
