"""``shipway image build`` for Docker: a runtime image built with no network inside.

The build context is prepared on the host: the Dockerfile shipped in
``shipway_docker/images/``, the project directory (filtered), and a wheelhouse holding
shipway, the requested distributions, the project's ``requirements.txt`` and all their
dependencies, as wheels for the base image's Python. The Dockerfile installs from that
wheelhouse only (``pip install --no-index``), and the build runs with no network at all
(``docker build --network none``).
"""

from __future__ import annotations

import collections
import contextlib
import importlib.metadata
import importlib.resources
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import docker
import docker.errors
import requests

from shipway.infrastructure import ImageBuildRequest, InfrastructureError
from shipway_docker._engine import api_error_text, connect, engine_errors

__all__ = ["DEFAULT_BASE_IMAGE", "build_image"]

DEFAULT_BASE_IMAGE = f"python:{sys.version_info[0]}.{sys.version_info[1]}-slim"

# Left out of the project copy: they are machine-specific, large, or both.
PROJECT_IGNORE = (
    ".git",
    ".venv",
    "venv",
    "__pycache__",
    "*.pyc",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".tox",
)

_TAIL_LINES = 25
_BUILD_STEP_SECONDS = 1800  # the engine is silent while a step runs; docker-py's 60 s is short
_PROBE = (
    "import json, platform, sys; "
    "print(json.dumps({'version': list(sys.version_info[:2]), "
    "'implementation': sys.implementation.name, "
    "'machine': platform.machine(), 'libc': list(platform.libc_ver())}))"
)


def build_image(request: ImageBuildRequest) -> str:
    """Build the runtime image ``request.tag`` of ``request.project_dir``; return its id.

    Progress (pip's and the Docker build's) is streamed to stderr. Every failure is an
    :class:`InfrastructureError` saying what went wrong and what to do.
    """
    base_image = request.base_image or DEFAULT_BASE_IMAGE
    if not request.project_dir.is_dir():
        raise InfrastructureError(f"project directory {request.project_dir} does not exist")
    wanted = _requirements(request)  # before any Docker work: a misspelled --with fails fast
    engine = connect(None)  # DOCKER_HOST, else the local socket, as `docker` does
    client = engine.client
    try:
        with engine_errors(engine.address, f"building {request.tag}"):
            _ensure_image_present(client, base_image)
            target = _probe_python(client, base_image)
            with tempfile.TemporaryDirectory(prefix="shipway-image-") as scratch:
                context = Path(scratch)
                _say(
                    f"Gathering wheels for Python {target.version_string} ({target.platform_note})"
                )
                _gather_wheels(wanted, context / "wheels", target)
                _copy_project(request.project_dir, context / "project")
                _write_dockerfile(context / "Dockerfile")
                _say(f"Building {request.tag} on {base_image}")
                return _docker_build(client, context, request.tag, base_image, target)
    finally:
        engine.close()


def _write_dockerfile(path: Path) -> None:
    dockerfile = importlib.resources.files("shipway_docker") / "images" / "Dockerfile"
    path.write_bytes(dockerfile.read_bytes())


# -- the Docker engine -------------------------------------------------------------------------


def _ensure_image_present(client: docker.DockerClient, image: str) -> None:
    with contextlib.suppress(docker.errors.ImageNotFound):
        client.images.get(image)
        return
    _say(f"Base image {image} is not here; pulling it")
    try:
        client.images.pull(image)
    except docker.errors.DockerException as exc:
        raise InfrastructureError(
            f"base image {image!r} is not present locally and could not be pulled: {_reason(exc)}",
            hint="The base image must exist locally or be pullable (see docker images); "
            "pass another one with --base.",
        ) from None


@dataclass(frozen=True)
class _TargetPython:
    """The interpreter in the base image, which the wheels must suit."""

    version: tuple[int, int]
    implementation: str
    machine: str
    libc: tuple[str, str]

    @property
    def version_string(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"

    def host_can_build_for(self) -> bool:
        """Whether wheels that suit this interpreter also suit the base image's."""
        host_libc = platform.libc_ver()
        return (
            sys.platform == "linux"
            and sys.version_info[:2] == self.version
            and sys.implementation.name == self.implementation
            and platform.machine() == self.machine
            and host_libc[0] == self.libc[0]
            and _version_tuple(host_libc[1]) <= _version_tuple(self.libc[1])
        )

    @property
    def platform_note(self) -> str:
        return "pip wheel" if self.host_can_build_for() else "pip download of binary wheels"

    def pip_platforms(self) -> list[str]:
        """The platform tags of wheels that run in the base image, newest first."""
        arch = self.machine
        if self.libc[0] == "glibc":
            glibc = _version_tuple(self.libc[1])
            newest = glibc[1] if len(glibc) > 1 else 17
            tags = [f"manylinux_2_{minor}_{arch}" for minor in range(newest, 16, -1)]
            return [*tags, f"manylinux2014_{arch}"]
        return [f"musllinux_1_{minor}_{arch}" for minor in (2, 1)]


def _probe_python(client: docker.DockerClient, image: str) -> _TargetPython:
    try:
        found: dict[str, Any] = json.loads(_run_to_end(client, image, ["python3", "-c", _PROBE]))
    except (
        docker.errors.DockerException,
        requests.RequestException,
        ValueError,
        IndexError,
    ) as exc:
        raise InfrastructureError(
            f"base image {image!r} has no working python3: {_reason(exc)}",
            hint="Use a base image with Python 3.10 or newer and its venv module "
            "(python:3.X-slim, or Debian with python3-venv).",
        ) from None
    target = _TargetPython(
        version=(found["version"][0], found["version"][1]),
        implementation=found["implementation"],
        machine=found["machine"],
        libc=(found["libc"][0], found["libc"][1]),
    )
    if target.version < (3, 10):
        raise InfrastructureError(
            f"base image {image!r} has Python {target.version_string}; shipway needs 3.10 or newer",
            hint="Pass a base image with a newer Python with --base.",
        )
    return target


def _run_to_end(client: docker.DockerClient, image: str, command: list[str]) -> str:
    """``docker run --rm IMAGE COMMAND``: its last line of output, or ContainerError.

    The container is removed whatever happens, including when it cannot even start
    (``containers.run(remove=True)`` leaves those behind).
    """
    container = client.containers.create(
        image,
        command,
        labels={"io.shipway.image-build": "probe"},
        network_disabled=True,
    )
    try:
        container.start()
        status = int(container.wait(timeout=120)["StatusCode"])
        output = bytes(container.logs(stdout=True, stderr=True))
    finally:
        with contextlib.suppress(docker.errors.DockerException):
            container.remove(force=True)
    if status != 0:
        raise docker.errors.ContainerError(container, status, command, image, output)
    return output.decode(errors="replace").strip().splitlines()[-1]


def _docker_build(
    client: docker.DockerClient, context: Path, tag: str, base_image: str, target: _TargetPython
) -> str:
    from shipway import __version__

    step_output: list[str] = []
    image_id: str | None = None
    try:
        for chunk in client.api.build(
            path=str(context),
            tag=tag,
            rm=True,
            forcerm=True,
            pull=False,
            # What the module docstring promises, enforced: a RUN step that reached
            # for the network would fail here as it does on an offline CI machine.
            network_mode="none",
            decode=True,
            timeout=_BUILD_STEP_SECONDS,
            buildargs={
                "BASE_IMAGE": base_image,
                "SHIPWAY_VERSION": __version__,
                "PYTHON_VERSION": target.version_string,
            },
        ):
            if "stream" in chunk:
                text = chunk["stream"]
                sys.stderr.write(text)
                sys.stderr.flush()
                if text.startswith("Step "):
                    step_output = []
                step_output.extend(text.splitlines())
            if "aux" in chunk and "ID" in chunk["aux"]:
                image_id = chunk["aux"]["ID"]
            if "error" in chunk:
                raise InfrastructureError(
                    f"docker build of {tag} failed:\n{_step_tail(step_output)}\n"
                    f"{chunk['error'].strip()}",
                    hint="The failing step and its output are shown above the error.",
                )
    except requests.exceptions.ReadTimeout:
        raise InfrastructureError(
            f"docker build of {tag} failed: no output for {_BUILD_STEP_SECONDS} s:\n"
            f"{_step_tail(step_output)}"
        ) from None
    except docker.errors.DockerException as exc:
        raise InfrastructureError(f"docker build of {tag} failed: {_reason(exc)}") from None
    if image_id is None:
        image_id = client.images.get(tag).id
    return str(image_id)


def _step_tail(step_output: list[str]) -> str:
    """The failing step's header and the end of its output, without Docker's noise."""
    lines = [
        line
        for line in step_output
        if line.strip() and not line.startswith(("Removing intermediate", " ---> "))
    ]
    if len(lines) > _TAIL_LINES:
        lines = [lines[0], "...", *lines[-_TAIL_LINES:]]
    return "\n".join(lines)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, docker.errors.ContainerError):
        stderr = exc.stderr.decode(errors="replace").strip() if exc.stderr else ""
        return f"exit status {exc.exit_status}" + (f": {stderr}" if stderr else "")
    return api_error_text(exc) or type(exc).__name__


# -- the wheelhouse ----------------------------------------------------------------------------


@dataclass
class _Requirements:
    """What goes into the image: local directories to build, pinned names, files."""

    directories: list[Path]
    pins: list[str]
    requirement_files: list[Path]
    project_dir: Path  # pip runs here, so relative paths in requirements.txt work


def _requirements(request: ImageBuildRequest) -> _Requirements:
    wanted = _Requirements(
        directories=[], pins=[], requirement_files=[], project_dir=request.project_dir
    )
    names = {_normalize(name): name for name in ("shipway", *request.distributions)}
    for name in names.values():
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise InfrastructureError(
                f"distribution {name!r} is not installed here, so it cannot be put in the image",
                hint=f"pip install {name} first, or check the spelling of --with.",
            ) from None
        source = _local_source(distribution)
        if source is not None:
            wanted.directories.append(source)
        else:
            wanted.pins.append(f"{distribution.metadata['Name']}=={distribution.version}")
    requirements_txt = request.project_dir / "requirements.txt"
    if requirements_txt.is_file():
        wanted.requirement_files.append(requirements_txt)
    return wanted


def _normalize(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _local_source(distribution: importlib.metadata.Distribution) -> Path | None:
    """The directory an installed distribution came from (an editable or local install)."""
    text = distribution.read_text("direct_url.json")
    if not text:
        return None
    url = json.loads(text).get("url", "")
    parsed = urlparse(url)
    if parsed.scheme != "file":
        return None
    path = Path(unquote(parsed.path))
    return path if path.is_dir() else None


def _gather_wheels(wanted: _Requirements, wheelhouse: Path, target: _TargetPython) -> None:
    wheelhouse.mkdir()
    if wanted.directories:
        # Local sources are built here whatever the target: they are pure Python.
        _pip(
            wanted.project_dir,
            "wheel",
            "--no-deps",
            "--wheel-dir",
            str(wheelhouse),
            *map(str, wanted.directories),
        )
    # The local wheels are named by path, so nothing from an index can replace them.
    roots = [*map(str, sorted(wheelhouse.glob("*.whl"))), *wanted.pins]
    for requirement_file in wanted.requirement_files:
        roots += ["-r", str(requirement_file)]
    if target.host_can_build_for():
        _pip(
            wanted.project_dir,
            "wheel",
            "--wheel-dir",
            str(wheelhouse),
            "--find-links",
            str(wheelhouse),
            *roots,
        )
    else:
        platforms = [arg for tag in target.pip_platforms() for arg in ("--platform", tag)]
        _pip(
            wanted.project_dir,
            "download",
            "--only-binary=:all:",
            "--dest",
            str(wheelhouse),
            "--find-links",
            str(wheelhouse),
            "--python-version",
            target.version_string,
            "--implementation",
            "cp" if target.implementation == "cpython" else "py",
            *platforms,
            *roots,
        )


def _pip(cwd: Path, *args: str) -> None:
    command = [sys.executable, "-m", "pip", *args]
    tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
    with subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    ) as pip:
        assert pip.stdout is not None  # set by stdout=PIPE; narrows the type
        for line in pip.stdout:
            sys.stderr.write(line)
            tail.append(line.rstrip("\n"))
        status = pip.wait()
    if status != 0:
        raise InfrastructureError(
            f"pip {args[0]} failed (exit {status}) while gathering wheels for the image:\n"
            + "\n".join(tail),
            hint="Every requirement must be available as a wheel, or buildable into one, "
            "on this machine: the image build itself has no network.",
        )


# -- the project -------------------------------------------------------------------------------


def _copy_project(source: Path, destination: Path) -> None:
    shutil.copytree(
        source, destination, ignore=shutil.ignore_patterns(*PROJECT_IGNORE), symlinks=True
    )


def _say(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in _digits(version.split(".")))


def _digits(parts: Iterable[str]) -> Iterator[str]:
    for part in parts:
        if not part.isdigit():
            return
        yield part
