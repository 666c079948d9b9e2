"""The pull policy against a real engine, and the pull progress line.

No registry can be reached here, so the image under test is the runtime image tagged
with a registry where nothing listens (127.0.0.1:1): a policy that uses the local
image runs the flow, a policy that pulls fails at once with the registry's answer.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator

import docker
import docker.errors
import pytest
from _docker_images import DockerCleanup
from _docker_run_helpers import RecordingSink, checks_job, run_in_foreground, run_to_end

from shipway.infrastructure import InfrastructureError
from shipway_docker import DockerContainer
from shipway_docker._pull import _Progress, registry_of

pytestmark = pytest.mark.anyio

NOWHERE = "127.0.0.1:1"


@pytest.fixture
def local_only(
    docker_client: docker.DockerClient, runtime_image: str, docker_cleanup: DockerCleanup
) -> Iterator[str]:
    """The runtime image under the name ``127.0.0.1:1/...:<version>``: on the engine,
    but in a registry that cannot be reached. (The repository holds the tag.)"""
    repository = f"{NOWHERE}/shipway-test-{docker_cleanup.run_id}/runtime"
    docker_client.images.get(runtime_image).tag(repository, "1")
    docker_client.images.get(runtime_image).tag(repository, "latest")
    yield repository
    for tag in ("1", "latest"):
        with contextlib.suppress(docker.errors.NotFound):
            docker_client.images.remove(f"{repository}:{tag}")  # the tag only


async def test_if_not_present_runs_the_local_image_without_pulling(
    local_only: str, docker_cleanup: DockerCleanup, capsys: pytest.CaptureFixture[str]
) -> None:
    infrastructure = DockerContainer(
        image=f"{local_only}:1", auto_remove=True, labels=docker_cleanup.labels
    )
    assert infrastructure.pull_policy == "if_not_present"  # inferred from the tag
    sink = RecordingSink()

    _, result = await run_to_end(infrastructure, checks_job("echo", message="local"), sink)

    assert result.status_code == 0
    assert sink.stream("stdout")[0] == b"message='local' number=0\n"
    assert "Pulling" not in capsys.readouterr().err


@pytest.mark.parametrize(("tag", "policy"), [("1", "Always"), ("latest", None)])
async def test_always_pulls_even_an_image_the_engine_has(
    local_only: str, tag: str, policy: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    image = f"{local_only}:{tag}"
    infrastructure = DockerContainer(image=image, image_pull_policy=policy)  # type: ignore[arg-type]
    assert infrastructure.pull_policy == "always"

    with pytest.raises(InfrastructureError) as caught:
        await run_in_foreground(infrastructure, checks_job("echo"), RecordingSink())

    assert caught.value.message.startswith(f"cannot pull image {image!r} from {NOWHERE}: ")
    assert caught.value.hint is not None
    assert "set image_pull_policy to if_not_present" in caught.value.hint
    assert f"Pulling image {image} from {NOWHERE}" in capsys.readouterr().err


def test_registry_of() -> None:
    assert registry_of("registry.example.com/team/app:1") == "registry.example.com"
    assert registry_of("localhost:5000/app") == "localhost:5000"
    assert registry_of("localhost/app") == "localhost"
    assert registry_of("team/app:1") is None
    assert registry_of("app") is None


def test_progress_is_one_line_redrawn_in_place() -> None:
    terminal = io.StringIO()
    progress = _Progress("flows:1", terminal)
    events = [
        {"status": "Pulling from flows", "id": "1"},  # no progressDetail: not a layer
        {"status": "Pulling fs layer", "progressDetail": {}, "id": "aaa"},
        {"status": "Already exists", "progressDetail": {}, "id": "bbb"},
        {
            "status": "Downloading",
            "progressDetail": {"current": 1_000_000, "total": 4_000_000},
            "id": "aaa",
        },
        {"status": "Download complete", "progressDetail": {}, "id": "aaa"},
        {"status": "Pull complete", "progressDetail": {}, "id": "aaa"},
    ]
    for event in events:
        progress.update(event)
    progress.close()

    text = terminal.getvalue()
    assert text.startswith("\r\x1b[K  flows:1: ")
    assert text.endswith("\r\x1b[K  flows:1: 2/2 layers, 4.0/4.0 MB\n")
    assert "\n" not in text[:-1]  # one line, redrawn
