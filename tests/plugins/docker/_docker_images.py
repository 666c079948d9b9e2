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
import re
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

import _ci

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


def unavailable(reason: str) -> NoReturn:
    """Skip locally; fail in CI, where the Docker tests must never be skipped."""
    _ci.unavailable(reason, tests="Docker")


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


SYSTEM_CACHE = Path("/var/cache/shipway-test")


def cache_dir() -> Path:
    """Where the root file system tarball and the image locks are kept, outside the
    checkout: ``SHIPWAY_TEST_CACHE``, else /var/cache/shipway-test when this user may
    write there (root, as in CI), else ``~/.cache/shipway-test``."""
    configured = os.environ.get("SHIPWAY_TEST_CACHE")
    if configured:
        candidates = [Path(configured)]
    else:
        user_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        candidates = [SYSTEM_CACHE, user_cache / "shipway-test"]
    problems = []
    for path in candidates:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            problems.append(f"{path}: {exc.strerror or exc}")
            continue
        if os.access(path, os.W_OK | os.X_OK):
            return path
        problems.append(f"{path}: not writable")
    unavailable(
        f"no writable directory for the Docker test image cache ({'; '.join(problems)}); "
        "set SHIPWAY_TEST_CACHE to one"
    )


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
    for uri in _apt_uris():
        mirror = _usable_mirror(uri)
        if mirror:
            return mirror
    unavailable(
        f"no Debian {DEBIAN_SUITE} mirror that debootstrap can use found in apt's "
        "configuration (/etc/apt/sources.list.d/debian.sources, /etc/apt/sources.list); "
        "set SHIPWAY_TEST_DEBIAN_MIRROR"
    )


def _apt_uris() -> Iterator[str]:
    """The URIs apt fetches the Debian suite from, in the order it lists them."""
    deb822 = Path("/etc/apt/sources.list.d/debian.sources")
    if deb822.exists():
        for stanza in deb822.read_text(encoding="utf-8").split("\n\n"):
            fields = _deb822_fields(stanza)
            if DEBIAN_SUITE in fields.get("Suites", "").split():
                yield from fields.get("URIs", "").split()
    one_line = Path("/etc/apt/sources.list")
    if one_line.exists():
        for line in one_line.read_text(encoding="utf-8").splitlines():
            words = re.sub(r"\[[^\]]*\]", " ", line).split()  # without [arch=... signed-by=...]
            if len(words) >= 3 and words[0] == "deb" and words[2] == DEBIAN_SUITE:
                yield words[1]


def _usable_mirror(uri: str) -> str | None:
    """An http(s) or file URI debootstrap can fetch from. Debian's cloud images name a
    mirror list instead (``mirror+file:///etc/apt/mirrors/debian.list``): its first
    entry is used."""
    if uri.startswith("mirror+file:"):
        listing = Path(uri.removeprefix("mirror+file:").removeprefix("//"))
        with contextlib.suppress(OSError):
            for line in listing.read_text(encoding="utf-8").splitlines():
                words = line.split()
                if words and not words[0].startswith("#"):
                    return _usable_mirror(words[0])
        return None
    return uri if uri.startswith(("http://", "https://", "file:/")) else None


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
    # What a session killed in the middle left (hundreds of MB); we hold the base-image
    # lock, so no other session is writing these.
    for partial in cache.glob(f"{ROOTFS_TARBALL}.*.partial"):
        partial.unlink(missing_ok=True)
    for scratch in cache.glob("debootstrap-*"):
        shutil.rmtree(scratch, ignore_errors=True)
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
    """Pack ``rootfs`` into ``tarball``, which appears complete or not at all."""
    partial = tarball.with_name(f"{tarball.name}.{os.getpid()}.partial")
    try:
        subprocess.run(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."], check=True
        )
        partial.replace(tarball)
    finally:
        partial.unlink(missing_ok=True)


# -- the runtime image -------------------------------------------------------------------------

RUNTIME_SOURCES = (
    ROOT / "core/src",
    ROOT / "core/pyproject.toml",  # shipway's dependencies, installed into the image
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


@contextlib.contextmanager
def runtime_image_in_use(client: docker.DockerClient, base_image: str) -> Iterator[str]:
    """The runtime image for this tree, built if missing, and protected from other test
    sessions' clean-up (:func:`remove_stale_runtime_images`) until the block ends."""
    tag = runtime_tag(client.images.get(base_image).id)
    with _using(tag):  # first: a pruner cannot remove the image between check and use
        if not image_exists(client, tag):
            with exclusive("runtime-image"):
                if not image_exists(client, tag):  # else another session built it meanwhile
                    _build_runtime_image(tag, base_image)
                    remove_stale_runtime_images(client, keep=tag)
        yield tag


def _build_runtime_image(tag: str, base_image: str) -> None:
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


# Each change to the sources makes a new runtime image; the old ones are removed when a
# new one is built, except those a live session uses and a few recent ones (another
# checkout or branch may want them back, and a session that takes no lock, such as one
# on another machine sharing this engine, may be using them).
KEEP_RECENT = 3
RECENT_SECONDS = 3600


def remove_stale_runtime_images(client: docker.DockerClient, keep: str) -> None:
    """Remove runtime images other than ``keep`` that no test session on this machine
    uses, keeping at most :data:`KEEP_RECENT` made in the last hour: whatever the number
    of edits, a handful of images remain."""
    kept_recent = 0
    listed = client.api.images(name=RUNTIME_REPOSITORY)  # no inspect: nothing to race
    for image in sorted(listed, key=lambda image: int(image.get("Created") or 0), reverse=True):
        tags = [
            tag for tag in image.get("RepoTags") or [] if tag.startswith(f"{RUNTIME_REPOSITORY}:")
        ]
        if not tags or keep in tags:
            continue
        age = time.time() - int(image.get("Created") or 0)
        if age < RECENT_SECONDS and kept_recent < KEEP_RECENT:
            kept_recent += 1
            continue
        for tag in tags:
            with _unused(tag) as unused:
                if unused:  # the image goes with its last tag, unless a container uses it
                    with contextlib.suppress(docker.errors.APIError):
                        client.images.remove(tag)
    # Lock files of images removed by hand; those of images being built are in use.
    existing = {tag.rpartition(":")[2] for image in listed for tag in image.get("RepoTags") or []}
    for path in _lock_file(keep).parent.glob("*.lock"):
        if path.stem not in existing:
            with _unused(f"{RUNTIME_REPOSITORY}:{path.stem}"):
                pass


def _lock_file(tag: str) -> Path:
    directory = cache_dir() / "runtime-images"
    directory.mkdir(exist_ok=True)
    return directory / f"{tag.rpartition(':')[2]}.lock"


@contextlib.contextmanager
def _using(tag: str) -> Iterator[None]:
    """Hold a shared lock on the tag's lock file: :func:`_unused` sees the image in use."""
    path = _lock_file(tag)
    while True:
        lock = path.open("a")
        fcntl.flock(lock, fcntl.LOCK_SH)
        try:  # a pruner may have deleted the file while we waited for its lock
            if os.stat(path).st_ino == os.fstat(lock.fileno()).st_ino:
                break
        except FileNotFoundError:
            pass
        lock.close()
    try:
        yield
    finally:
        lock.close()


@contextlib.contextmanager
def _unused(tag: str) -> Iterator[bool]:
    """True (holding the tag's lock exclusively) if no session uses the tag; the lock
    file goes when the block ends, so lock files do not pile up either."""
    path = _lock_file(tag)
    with path.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            path.unlink(missing_ok=True)  # before unlocking: see the check in _using


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
    # sparse: no inspect per container, which would fail on one removed meanwhile
    for container in client.containers.list(all=True, filters=filters, sparse=True):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            container.remove(force=True, v=True)
    for network in client.networks.list(filters=filters):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            network.remove()
    for volume in client.volumes.list(filters=filters):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            volume.remove(force=True)


ABANDONED_SECONDS = 6 * 3600  # far longer than any test session lasts


def remove_abandoned(client: docker.DockerClient) -> None:
    """Remove test containers and networks made more than six hours ago: a session
    killed outright (SIGKILL, a CI job's timeout) never ran their clean-up, and
    leftover networks would use up the engine's address pools."""
    filters = {"label": f"{TEST_LABEL}=1"}
    now = time.time()
    for container in client.api.containers(all=True, filters=filters):
        if now - int(container.get("Created") or now) > ABANDONED_SECONDS:
            with contextlib.suppress(docker.errors.APIError):
                client.api.remove_container(container["Id"], force=True, v=True)
    for network in client.api.networks(filters=filters):
        if now - _timestamp(network.get("Created") or "") > ABANDONED_SECONDS:
            with contextlib.suppress(docker.errors.APIError):
                client.api.remove_network(network["Id"])


def _timestamp(rfc3339: str) -> float:
    """``2024-11-24T09:06:01.123456789+01:00`` (the engine's times) as a POSIX time;
    now for anything else, so that nothing is taken for old by mistake."""
    from datetime import datetime

    try:
        when = datetime.fromisoformat(re.sub(r"\.\d+", "", rfc3339).replace("Z", "+00:00"))
    except ValueError:
        return time.time()
    return when.timestamp() if when.tzinfo is not None else time.time()


def _progress(message: str) -> None:
    print(f"[docker test images] {message}", file=sys.stderr, flush=True)
