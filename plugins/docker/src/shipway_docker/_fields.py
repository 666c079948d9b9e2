"""Turn configuration values into what the Docker engine accepts, or explain why not.

Pure functions, no Docker calls: the model's validators and the container spec use them.
"""

from __future__ import annotations

import re
import uuid
from typing import Literal

from shipway.infrastructure import default_runtime_image as default_image

__all__ = [
    "PULL_POLICIES",
    "PullPolicy",
    "container_name",
    "default_image",
    "image_tag",
    "infer_pull_policy",
    "memory_bytes",
    "normalise_pull_policy",
    "run_container_name",
    "split_volume",
]

PullPolicy = Literal["always", "if_not_present", "never"]
PULL_POLICIES: tuple[PullPolicy, ...] = ("always", "if_not_present", "never")

# Spellings folded to lower case without '_' and '-': ours, Kubernetes' and `docker run --pull`'s.
_PULL_SPELLINGS: dict[str, PullPolicy] = {
    "always": "always",
    "ifnotpresent": "if_not_present",
    "missing": "if_not_present",
    "never": "never",
}


def normalise_pull_policy(value: str) -> PullPolicy:
    """``always`` / ``if_not_present`` / ``never``, from any case and the Kubernetes
    (``IfNotPresent``) or ``docker run --pull`` (``missing``) spellings."""
    folded = re.sub(r"[_\-\s]", "", value).lower()
    try:
        return _PULL_SPELLINGS[folded]
    except KeyError:
        raise ValueError(
            f"unknown image pull policy {value!r}: use always, if_not_present or never "
            "(the Kubernetes spellings Always, IfNotPresent and Never work too)"
        ) from None


def image_tag(image: str) -> tuple[str, str | None, str | None]:
    """Split an image reference into (repository, tag, digest).

    ``registry.example.com:5000/team/app:1.2@sha256:...`` ->
    (``registry.example.com:5000/team/app``, ``1.2``, ``sha256:...``). A port in the
    registry part is not a tag: only a ``:`` after the last ``/`` starts one.
    """
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :], digest or None
    return name, None, digest or None


def infer_pull_policy(image: str) -> PullPolicy:
    """What Kubernetes does when no policy is set: ``latest`` or no tag at all ->
    always pull; any other tag, or a digest -> pull only when missing."""
    _, tag, digest = image_tag(image)
    if tag == "latest" or (tag is None and digest is None):
        return "always"
    return "if_not_present"


_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def memory_bytes(value: str | int) -> int:
    """``"256m"``, ``"1.5g"``, ``"512MiB"``, ``"64MB"`` or a number of bytes, as bytes.

    Units are binary, as for ``docker run --memory`` (``m`` = 1024 * 1024 bytes).
    """
    if isinstance(value, bool):  # a YAML `yes` must not become 1 byte
        raise ValueError(f"{value!r} is not a memory size")
    if isinstance(value, int):
        return value
    found = _MEMORY.match(value)
    if found is None:
        raise ValueError(
            f"{value!r} is not a memory size: use a number of bytes or a number with a "
            "unit, such as 512m or 2g (units b, k, m, g, t)"
        )
    number, unit, _ = found.groups()
    return int(float(number) * _UNITS[unit.lower()])


_NAMED_VOLUME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_VOLUME_OPTIONS = frozenset(
    {
        "ro", "rw", "z", "Z", "nocopy",
        "shared", "slave", "private", "rshared", "rslave", "rprivate",
        "consistent", "cached", "delegated",
    }
)  # fmt: skip


def split_volume(spec: str) -> tuple[str, str, str | None]:
    """Check a ``host:container[:mode]`` volume and return its three parts.

    ``host`` is an absolute path, a path starting with ``~``, ``./`` or ``../`` (made
    absolute at run time), or the name of a Docker volume. ``mode`` is a comma-separated
    list of Docker's options (``ro``, ``rw``, ``z``, ``Z``, propagation, ``nocopy``).
    """
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError(
            f"volume {spec!r} must look like host:container or host:container:mode, "
            "e.g. ./data:/data:ro"
        )
    host, container, mode = parts[0], parts[1], parts[2] if len(parts) == 3 else None
    if not container.startswith("/"):
        raise ValueError(f"volume {spec!r}: the container path {container!r} must be absolute")
    is_path = host.startswith(("/", "~", "./", "../")) or host in (".", "..")
    if not is_path and not _NAMED_VOLUME.match(host):
        raise ValueError(
            f"volume {spec!r}: {host!r} is neither a path nor a volume name. Start a "
            "relative path with ./ (it is relative to the project directory), or use an "
            "absolute path"
        )
    if mode is not None:
        options = mode.split(",")
        unknown = [option for option in options if option not in _VOLUME_OPTIONS]
        if unknown:
            raise ValueError(
                f"volume {spec!r}: unknown mode {', '.join(map(repr, unknown))}; use ro or "
                "rw, optionally with z, Z, nocopy or a propagation (rshared, rslave...)"
            )
        if {"ro", "rw"} <= set(options):
            raise ValueError(f"volume {spec!r}: ro and rw contradict each other")
    return host, container, mode


# Docker's rule for container names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (two characters at least).
_NAME_FORBIDDEN = re.compile(r"[^a-zA-Z0-9_.-]+")
_NAME_MAX = 63  # short enough for a hostname and for a "-N" suffix to fit


def container_name(text: str) -> str:
    """``text`` made into a valid container name: other characters become ``-``."""
    name = _NAME_FORBIDDEN.sub("-", text).lstrip("_.-")[:_NAME_MAX].rstrip("_.-")
    if len(name) < 2:
        return f"shipway-{name}" if name else "shipway"
    return name


def run_container_name(name: str | None, flow_name: str, flow_run_id: str) -> str:
    """``name`` when set, else ``<flow>-<first 8 hex digits of the run id>``."""
    if name:
        return container_name(name)
    try:
        short = uuid.UUID(flow_run_id).hex[:8]
    except ValueError:  # not a UUID (a preview's placeholder, a caller's own id)
        short = flow_run_id
    short = container_name(short)[:16]
    prefix = container_name(flow_name or "flow")[: _NAME_MAX - len(short) - 1]
    return container_name(f"{prefix}-{short}")
