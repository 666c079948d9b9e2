"""Reach the Docker engine, and turn its failures into one message that says what to do.

Every function here blocks (docker-py is synchronous): callers run them in a worker
thread with ``anyio.to_thread.run_sync``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from shipway.infrastructure import InfrastructureError, InfrastructureUnreachable

if TYPE_CHECKING:
    import docker

__all__ = [
    "DEFAULT_ADDRESS",
    "Engine",
    "api_error_text",
    "connect",
    "engine_address",
    "engine_errors",
    "unreachable",
]

DEFAULT_ADDRESS = "unix:///var/run/docker.sock"
_VERSION_PREFIX = "Error while fetching server API version: "


def engine_address(docker_host: str | None) -> str:
    """Where the engine is: ``docker_host``, else ``DOCKER_HOST``, else the local socket
    (what the ``docker`` command line uses when no context is selected)."""
    return docker_host or os.environ.get("DOCKER_HOST") or DEFAULT_ADDRESS


@dataclasses.dataclass(frozen=True)
class Engine:
    """A connected engine: the client, where it is, and what it says about itself."""

    client: docker.DockerClient
    address: str
    id: str
    os_type: str

    def close(self) -> None:
        self.client.close()


def connect(docker_host: str | None) -> Engine:
    """Connect to the engine (as ``docker.from_env`` does, ``DOCKER_TLS_VERIFY`` and
    ``DOCKER_CERT_PATH`` included) and read its identity; raise one
    :class:`InfrastructureError` if it cannot be reached."""
    import docker

    address = engine_address(docker_host)
    environment = {**os.environ, "DOCKER_HOST": address}
    try:
        client = docker.from_env(environment=environment)  # asks the engine its API version
    except docker.errors.DockerException as exc:
        raise unreachable(address, exc) from None
    try:
        with engine_errors(address, "asking the Docker engine who it is"):
            info = client.info()
    except BaseException:
        client.close()
        raise
    return Engine(client, address, str(info.get("ID") or ""), str(info.get("OSType") or ""))


def unreachable(address: str, exc: BaseException) -> InfrastructureError:
    """The one error for an engine that is down, missing or refusing us."""
    cause = _root_os_error(exc)
    reason = cause.strerror if cause is not None and cause.strerror else _short(exc)
    message = f"cannot reach the Docker engine at {address}: {reason}"
    if isinstance(cause, PermissionError):  # a setting to fix, not a platform that is down
        return InfrastructureError(
            message,
            hint="This user may not use the Docker socket: add it to the 'docker' group "
            "(then log in again), or point DOCKER_HOST / docker_host at an engine it may use.",
        )
    return InfrastructureUnreachable(
        message,
        hint="Start the Docker daemon (dockerd, or Docker Desktop), or point DOCKER_HOST or "
        "the infrastructure's docker_host field at a running engine.",
    )


def api_error_text(exc: BaseException) -> str:
    """The engine's own words for a failed call, without docker-py's decoration."""
    explanation = getattr(exc, "explanation", None)
    if explanation:
        text = (
            explanation.decode(errors="replace") if isinstance(explanation, bytes) else explanation
        )
        return str(text).strip()
    return _short(exc)


@contextlib.contextmanager
def engine_errors(address: str, doing: str) -> Iterator[None]:
    """Re-raise a failed engine call made inside the block as an InfrastructureError
    saying what was being done; a lost or broken connection as :func:`unreachable`.

    Catch ``docker.errors.NotFound`` inside the block where it means something
    particular (a vanished container); here it is one more failure.
    """
    import docker
    import requests

    try:
        yield
    except docker.errors.APIError as exc:
        raise InfrastructureError(f"{doing} failed: {api_error_text(exc)}") from None
    except requests.exceptions.RequestException as exc:
        # Not only ConnectionError: an engine that goes away in the middle of an answer
        # (a long `wait`, say) ends it with ChunkedEncodingError.
        raise unreachable(address, exc) from None
    except docker.errors.DockerException as exc:
        raise InfrastructureError(f"{doing} failed: {_short(exc)}") from None


def _root_os_error(exc: BaseException) -> OSError | None:
    """The innermost operating-system error behind a docker-py / requests error."""
    found: OSError | None = None
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            found = current
        current = current.__cause__ or current.__context__
    return found


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text[len(_VERSION_PREFIX) :] if text.startswith(_VERSION_PREFIX) else text
