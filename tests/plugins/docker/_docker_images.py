"""The images the Docker tests run on, built offline and cached by tag.

No registry can be reached, so nothing is pulled: the base image is a Debian root file
system with Python made by ``debootstrap`` from the mirror apt is configured with, and
imported with ``docker import``; the runtime image is built on it by the real
``shipway image build``. Both are reused while their tag exists, so only the first run
on a machine pays for them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import docker
import docker.errors
import pytest

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent

BASE_IMAGE = "shipway-test/debian-python:bookworm"
RUNTIME_REPOSITORY = "shipway-test/runtime"
DEBIAN_SUITE = "bookworm"
DEBOOTSTRAP_PACKAGES = "python3,python3-venv,python3-pip,ca-certificates"
ROOTFS_TARBALL = f"debian-python-{DEBIAN_SUITE}.tar"

TEST_LABEL = "io.shipway.test"
TEST_RUN_LABEL = "io.shipway.test.run"

NO_ENGINE = "no Docker engine reachable: apt-get install docker.io and start dockerd (see .ci/run)"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> NoReturn:
    """Skip locally; fail in CI, where the Docker tests must never be skipped."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: Docker tests are not skipped in CI)", pytrace=False)
    pytest.skip(reason)


def connect() -> docker.DockerClient:
    """A client for the engine the environment names (DOCKER_HOST), as the docker CLI does."""
    from shipway_docker._engine import engine_address, unreachable

    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except docker.errors.DockerException as exc:
        unavailable(f"{NO_ENGINE} ({unreachable(engine_address(None), exc).message})")
    return client


def image_exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def cache_dir() -> Path:
    """Where the root file system tarball is kept, outside the checkout."""
    path = Path(os.environ.get("SHIPWAY_TEST_CACHE") or "/var/cache/shipway-test")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        unavailable(
            f"cannot create the test image cache {path}: {exc}; "
            "set SHIPWAY_TEST_CACHE to a writable directory"
        )
    return path


@contextlib.contextmanager
def exclusive(name: str) -> Iterator[None]:
    """One image build at a time across concurrent test sessions on this machine."""
    with (cache_dir() / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# -- the base image ----------------------------------------------------------------------------


def debian_mirror() -> str:
    """The Debian mirror apt uses here, read from its configuration (never written down)."""
    override = os.environ.get("SHIPWAY_TEST_DEBIAN_MIRROR")
    if override:
        return override
    deb822 = Path("/etc/apt/sources.list.d/debian.sources")
    if deb822.exists():
        for stanza in deb822.read_text(encoding="utf-8").split("\n\n"):
            fields = _deb822_fields(stanza)
            if DEBIAN_SUITE in fields.get("Suites", "").split() and fields.get("URIs"):
                return fields["URIs"].split()[0]
    one_line = Path("/etc/apt/sources.list")
    if one_line.exists():
        for line in one_line.read_text(encoding="utf-8").splitlines():
            words = line.split()
            if len(words) >= 3 and words[0] == "deb" and words[2] == DEBIAN_SUITE:
                return words[1]
    unavailable(
        f"no Debian {DEBIAN_SUITE} mirror found in apt's configuration "
        "(/etc/apt/sources.list.d/debian.sources); set SHIPWAY_TEST_DEBIAN_MIRROR"
    )


def _deb822_fields(stanza: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in stanza.splitlines():
        if ":" in line and not line.startswith((" ", "\t", "#")):
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
    return fields


def ensure_base_image(client: docker.DockerClient) -> str:
    """``shipway-test/debian-python:bookworm``, imported from the cached root file system."""
    if image_exists(client, BASE_IMAGE):
        return BASE_IMAGE
    with exclusive("base-image"):
        if image_exists(client, BASE_IMAGE):  # another session built it meanwhile
            return BASE_IMAGE
        tarball = _rootfs_tarball()
        started = time.monotonic()
        answer = client.api.import_image_from_file(
            str(tarball),
            repository=BASE_IMAGE.split(":")[0],
            tag=DEBIAN_SUITE,
            changes=["ENV LANG=C.UTF-8"],
        )
        if not image_exists(client, BASE_IMAGE):
            pytest.fail(
                f"docker import of {tarball} did not make {BASE_IMAGE}: {answer}", pytrace=False
            )
        _progress(f"imported {BASE_IMAGE} in {time.monotonic() - started:.1f} s")
    return BASE_IMAGE


def _rootfs_tarball() -> Path:
    cache = cache_dir()
    tarball = cache / ROOTFS_TARBALL
    if tarball.exists():
        return tarball
    rootfs = cache / "rootfs"  # a root file system left by an earlier (or manual) debootstrap
    if (rootfs / "usr/bin/python3").exists():
        _tar(rootfs, tarball)
        return tarball
    _require_debootstrap()
    with tempfile.TemporaryDirectory(dir=cache, prefix="debootstrap-") as scratch:
        target = Path(scratch) / "rootfs"
        mirror = debian_mirror()
        _progress(f"debootstrap {DEBIAN_SUITE} from {mirror} (a few minutes, once per machine)")
        started = time.monotonic()
        result = subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={DEBOOTSTRAP_PACKAGES}",
                DEBIAN_SUITE,
                str(target),
                mirror,
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
            pytest.fail(f"debootstrap failed (exit {result.returncode}):\n{tail}", pytrace=False)
        _progress(f"debootstrap took {time.monotonic() - started:.0f} s")
        _tar(target, tarball)
    return tarball


def _require_debootstrap() -> None:
    if shutil.which("debootstrap") is None and not Path("/usr/sbin/debootstrap").exists():
        unavailable(
            f"the Docker test base image {BASE_IMAGE} is missing and debootstrap, which "
            "builds it, is not installed: apt-get install debootstrap (see .ci/run)"
        )
    if os.geteuid() != 0:
        unavailable(
            f"the Docker test base image {BASE_IMAGE} is missing and debootstrap must run "
            "as root to build it: run the tests once as root (see .ci/run)"
        )


def _tar(rootfs: Path, tarball: Path) -> None:
    partial = tarball.with_name(f"{tarball.name}.{os.getpid()}.partial")
    subprocess.run(
        ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."], check=True
    )
    partial.replace(tarball)


# -- the runtime image -------------------------------------------------------------------------

RUNTIME_SOURCES = (
    ROOT / "core/src",
    ROOT / "plugins/docker/src/shipway_docker/images",
    ROOT / "plugins/docker/src/shipway_docker/_images.py",
    ROOT / "examples",
    HERE / "project",
)


def runtime_tag(base_image_id: str) -> str:
    """A tag that changes whenever what goes into the runtime image changes."""
    digest = hashlib.sha256(base_image_id.encode())
    for source in RUNTIME_SOURCES:
        for path in sorted(_files(source)):
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return f"{RUNTIME_REPOSITORY}:{digest.hexdigest()[:12]}"


def _files(source: Path) -> Iterator[Path]:
    if source.is_file():
        yield source
    elif source.is_dir():
        for path in source.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                yield path


def make_test_project(destination: Path) -> Path:
    """examples/ plus the extra flows the Docker tests need (tests/plugins/docker/project/)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv")
    shutil.copytree(ROOT / "examples", destination, ignore=ignore)
    if (HERE / "project").is_dir():
        shutil.copytree(HERE / "project", destination, ignore=ignore, dirs_exist_ok=True)
    return destination


def shipway_command() -> list[str]:
    """The installed ``shipway`` console script of this interpreter's environment."""
    script = Path(sys.executable).parent / "shipway"
    return [str(script)] if script.exists() else [sys.executable, "-m", "shipway.cli"]


def ensure_runtime_image(client: docker.DockerClient, base_image: str) -> str:
    tag = runtime_tag(client.images.get(base_image).id)
    if image_exists(client, tag):
        return tag
    with exclusive("runtime-image"):
        if image_exists(client, tag):
            return tag
        with tempfile.TemporaryDirectory(prefix="shipway-test-project-") as scratch:
            project = make_test_project(Path(scratch) / "project")
            started = time.monotonic()
            result = subprocess.run(
                [
                    *shipway_command(),
                    "image",
                    "build",
                    str(project),
                    "--tag",
                    tag,
                    "--base",
                    base_image,
                ],
                capture_output=True,
                text=True,
                timeout=1200,
            )
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
            pytest.fail(
                f"shipway image build of the test runtime image failed "
                f"(exit {result.returncode}):\n{tail}",
                pytrace=False,
            )
        _progress(f"built {tag} in {time.monotonic() - started:.1f} s")
        remove_stale_runtime_images(client, keep=tag)
    return tag


STALE_AFTER_SECONDS = 24 * 3600


def remove_stale_runtime_images(client: docker.DockerClient, keep: str) -> None:
    """Drop runtime images of trees older than a day (each change to the sources makes
    one); images still in use by a container are left alone."""
    for image in client.images.list(name=RUNTIME_REPOSITORY):
        created = image.attrs.get("Created", "")
        if keep in image.tags or not _older_than(created, STALE_AFTER_SECONDS):
            continue
        for tag in image.tags:
            with contextlib.suppress(docker.errors.APIError):
                client.images.remove(tag)


def _older_than(created: str, seconds: float) -> bool:
    """``created`` is the engine's RFC 3339 time, e.g. 2024-11-24T09:06:01.123456789Z."""
    from datetime import datetime, timezone

    try:
        when = datetime.strptime(created[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return False
    return (datetime.now(timezone.utc) - when).total_seconds() > seconds


def remove_image_and_descendants(client: docker.DockerClient, image_id: str) -> None:
    """Remove an image and the intermediate images a (failed) build left on top of it."""
    children: dict[str, list[str]] = {}
    for image in client.images.list(all=True):
        children.setdefault(image.attrs.get("Parent") or "", []).append(image.id)
    doomed: list[str] = []
    pending = [image_id]
    while pending:
        current = pending.pop()
        doomed.append(current)
        pending.extend(children.get(current, []))
    for doomed_id in reversed(doomed):  # leaves first
        with contextlib.suppress(docker.errors.ImageNotFound, docker.errors.APIError):
            client.images.remove(doomed_id, force=True)


# -- cleaning up -------------------------------------------------------------------------------


class DockerCleanup:
    """Labels for what a test creates, and the removal of everything carrying them.

    Put ``labels`` on every container, network and volume a test makes; after the test,
    everything with this test's run label is removed (forcefully). The run label keeps
    concurrent test sessions on one engine from removing each other's containers.
    """

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self.run_id = uuid.uuid4().hex[:12]
        self.labels = {TEST_LABEL: "1", TEST_RUN_LABEL: self.run_id}

    @property
    def label_filter(self) -> str:
        return f"{TEST_RUN_LABEL}={self.run_id}"

    def remove_all(self) -> None:
        remove_labelled(self.client, self.label_filter)


def remove_labelled(client: docker.DockerClient, label: str = f"{TEST_LABEL}=1") -> None:
    """Remove the containers, then networks and volumes, carrying ``label`` (key=value)."""
    filters = {"label": label}
    for container in client.containers.list(all=True, filters=filters):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            container.remove(force=True, v=True)
    for network in client.networks.list(filters=filters):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            network.remove()
    for volume in client.volumes.list(filters=filters):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            volume.remove(force=True)


def _progress(message: str) -> None:
    print(f"[docker test images] {message}", file=sys.stderr, flush=True)
