"""Make the image available on the engine according to the pull policy."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Mapping
from typing import Any, TextIO

from shipway.infrastructure import InfrastructureError
from shipway_docker._engine import Engine, api_error_text, engine_errors, unreachable
from shipway_docker._fields import PullPolicy, image_tag

__all__ = ["ensure_image", "registry_of"]

_REDRAW_SECONDS = 0.1


def registry_of(image: str) -> str | None:
    """The registry host an image names (``registry.example.com:5000/app`` ->
    ``registry.example.com:5000``), or None for the engine's default registry."""
    first, slash, _ = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return None


def ensure_image(
    engine: Engine,
    image: str,
    policy: PullPolicy,
    auth_config: Mapping[str, str] | None = None,
    progress: TextIO | None = None,
    abandoned: threading.Event | None = None,
) -> None:
    """Pull ``image`` when the policy says so; raise an InfrastructureError naming the
    image (and the registry's answer) when it cannot be had. Blocks; a pull stops at
    its next progress event once ``abandoned`` is set (the caller was cancelled)."""
    if policy != "always" and _present(engine, image):
        return
    if policy == "never":
        raise InfrastructureError(
            f"image {image!r} is not on the Docker engine at {engine.address}, and the "
            "pull policy is never",
            hint=f"Build it with `shipway image build . --tag {image}`, or set "
            "image_pull_policy to if_not_present (or always) to pull it from a registry.",
        )
    _pull(engine, image, policy, auth_config, progress, abandoned or threading.Event())


def _present(engine: Engine, image: str) -> bool:
    import docker

    with engine_errors(engine.address, f"looking for image {image!r}"):
        try:
            engine.client.api.inspect_image(image)
        except docker.errors.NotFound:
            return False
    return True


def _pull(
    engine: Engine,
    image: str,
    policy: PullPolicy,
    auth_config: Mapping[str, str] | None,
    progress: TextIO | None,
    abandoned: threading.Event,
) -> None:
    """Pull, telling stderr it happens (a pull can take minutes); on a terminal
    (``progress``), a line redrawn in place shows layers and bytes."""
    import docker
    import requests

    repository, tag, digest = image_tag(image)
    registry = registry_of(image) or "the default registry"
    sys.stderr.write(f"Pulling image {image} from {registry}\n")
    sys.stderr.flush()
    display = _Progress(image, progress) if progress is not None else None
    try:
        events = engine.client.api.pull(
            repository,
            tag=digest or tag or "latest",
            stream=True,
            decode=True,
            auth_config=dict(auth_config) if auth_config else None,
        )
        for event in events:
            if abandoned.is_set():
                events.close()
                return
            if "error" in event:
                raise _cannot_pull(image, registry, str(event["error"]), policy)
            if display is not None:
                display.update(event)
    except docker.errors.APIError as exc:
        raise _cannot_pull(image, registry, api_error_text(exc), policy) from None
    except requests.exceptions.RequestException as exc:  # refused, or cut mid-stream
        raise unreachable(engine.address, exc) from None
    finally:
        if display is not None:
            display.close()
    sys.stderr.write(f"Pulled image {image}\n")
    sys.stderr.flush()


def _cannot_pull(image: str, registry: str, answer: str, policy: PullPolicy) -> InfrastructureError:
    hint = (
        "Check the image name and tag, the registry credentials (image_registry) and that "
        f"the Docker engine can reach {registry}. For an image of this project, build it on "
        f"this engine instead: shipway image build . --tag {image}"
    )
    if policy == "always":
        hint += " (and set image_pull_policy to if_not_present, or never, so it is not pulled)"
    return InfrastructureError(f"cannot pull image {image!r} from {registry}: {answer}", hint=hint)


class _Progress:
    """One line on a terminal, redrawn in place: layers done and bytes downloaded."""

    def __init__(self, image: str, stream: TextIO) -> None:
        self._image = image
        self._stream = stream
        self._layers: dict[str, tuple[str, int, int]] = {}  # id -> (status, current, total)
        self._drawn_at = 0.0
        self._drawn = False

    def update(self, event: Mapping[str, Any]) -> None:
        layer = event.get("id")
        status = str(event.get("status", ""))
        if not layer or "progressDetail" not in event:
            return
        detail = event.get("progressDetail") or {}
        _, current, total = self._layers.get(layer, ("", 0, 0))
        self._layers[layer] = (
            status,
            int(detail.get("current", current) or 0),
            int(detail.get("total", total) or 0),
        )
        now = time.monotonic()
        if now - self._drawn_at >= _REDRAW_SECONDS:
            self._draw()
            self._drawn_at = now

    def _draw(self) -> None:
        done = sum(
            1
            for status, _, _ in self._layers.values()
            if status in ("Pull complete", "Already exists")
        )
        downloaded = sum(
            total if status in ("Download complete", "Extracting", "Pull complete") else current
            for status, current, total in self._layers.values()
            if status != "Already exists"
        )
        size = sum(
            total for status, _, total in self._layers.values() if status != "Already exists"
        )
        text = f"  {self._image}: {done}/{len(self._layers)} layers"
        if size:
            text += f", {downloaded / 1e6:.1f}/{size / 1e6:.1f} MB"
        self._stream.write(f"\r\x1b[K{text}")
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._layers:
            self._draw()
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
