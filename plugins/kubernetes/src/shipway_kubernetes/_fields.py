"""Turn configuration values into what the Kubernetes API accepts, or explain why not.

Pure functions, no API calls: the model's validators and the manifest builder use them.
"""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Any, Literal

from shipway.infrastructure import SecretRef
from shipway.infrastructure import default_runtime_image as default_image

__all__ = [
    "ENV_SOURCES",
    "SECRET_DEFAULT_KEY",
    "PullPolicy",
    "default_image",
    "dns_label",
    "env_entry",
    "job_name",
    "label_value",
    "normalise_pull_policy",
    "quantity",
]

PullPolicy = Literal["Always", "IfNotPresent", "Never"]

_PULL_SPELLINGS: dict[str, PullPolicy] = {
    "always": "Always",
    "ifnotpresent": "IfNotPresent",
    "never": "Never",
}

ENV_SOURCES = frozenset({"secretKeyRef", "configMapKeyRef", "fieldRef", "resourceFieldRef"})


def normalise_pull_policy(value: str) -> PullPolicy:
    """``Always`` / ``IfNotPresent`` / ``Never`` from any case, or snake case
    (``if_not_present``, as the Docker plugin spells it)."""
    folded = re.sub(r"[_\-\s]", "", value).lower()
    try:
        return _PULL_SPELLINGS[folded]
    except KeyError:
        raise ValueError(
            f"unknown image pull policy {value!r}: use Always, IfNotPresent or Never"
        ) from None


# A DNS-1123 label: lower-case alphanumerics and '-', starting and ending alphanumeric.
_DNS_FORBIDDEN = re.compile(r"[^a-z0-9-]+")
DNS_LABEL_MAX = 63
_SUFFIX_LENGTH = 5


def dns_label(text: str, limit: int = DNS_LABEL_MAX) -> str:
    """``text`` made into a DNS-1123 label of at most ``limit`` characters
    (``My_Flow`` -> ``my-flow``); empty when nothing usable is left."""
    folded = _DNS_FORBIDDEN.sub("-", text.lower())
    return folded.strip("-")[:limit].rstrip("-")


def _short_run_id(flow_run_id: str) -> str:
    try:
        return uuid.UUID(flow_run_id).hex[:8]
    except ValueError:  # not a UUID: a preview's placeholder, a caller's own id
        return dns_label(flow_run_id, 8) or "run"


def job_name(name: str | None, flow_name: str, flow_run_id: str, suffix: str | None = None) -> str:
    """A Job name unique to one run: ``<name or flow>-<run id's first 8 hex>-<5 random>``.

    At most 63 characters: the Job controller copies it into the pods' ``job-name`` label.
    The random suffix keeps the retries of one flow run (same run id) apart.
    """
    suffix = suffix or secrets.token_hex(3)[:_SUFFIX_LENGTH]
    tail = f"{_short_run_id(flow_run_id)}-{suffix}"
    prefix = dns_label(name or flow_name or "flow", DNS_LABEL_MAX - len(tail) - 1) or "flow"
    return f"{prefix}-{tail}"


_LABEL_VALUE_FORBIDDEN = re.compile(r"[^A-Za-z0-9_.-]+")


def label_value(text: str) -> str:
    """``text`` made into a valid label value: at most 63 characters of
    ``[A-Za-z0-9_.-]``, starting and ending alphanumeric (or empty)."""
    cleaned = _LABEL_VALUE_FORBIDDEN.sub("-", text)
    return cleaned.strip("_.-")[:DNS_LABEL_MAX].rstrip("_.-")


# Kubernetes resource quantities: 500m, 0.5, 2, 512Mi, 1G, 1e3 ...
_QUANTITY = re.compile(r"^[+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[KMGTPE]i|[mkMGTPE])?$")


def quantity(value: str | int | float, field: str) -> str:
    """A resource quantity as the API takes it (always a string)."""
    if isinstance(value, bool):
        raise ValueError(f"{field} must be a quantity such as 500m or 512Mi, not {value!r}")
    text = str(value).strip()
    if not _QUANTITY.match(text):
        raise ValueError(
            f"{field}={value!r} is not a Kubernetes quantity: use e.g. 500m or 0.5 for CPU, "
            "512Mi or 2Gi for memory"
        )
    return text


# A Secret's name is a DNS-1123 subdomain; its keys are [-._a-zA-Z0-9]+.
_SECRET_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
SECRET_DEFAULT_KEY = "value"


def env_entry(name: str, value: str | SecretRef | dict[str, Any]) -> dict[str, Any]:
    """One ``env`` item of a container: ``{"name", "value"}`` or ``{"name", "valueFrom"}``.

    A secret reference ``{secret: NAME}`` reads the key ``value`` of the Secret ``NAME``
    in the Job's namespace; ``{secret: NAME/KEY}`` reads its key ``KEY``. A mapping is
    either ``{"valueFrom": {...}}`` or the ``valueFrom`` body itself
    (``{"secretKeyRef": {"name": ..., "key": ...}}``).
    """
    if isinstance(value, str):
        return {"name": name, "value": value}
    if isinstance(value, SecretRef):
        return {"name": name, "valueFrom": {"secretKeyRef": _secret_key_ref(name, value)}}
    source = value.get("valueFrom", value)
    if not isinstance(source, dict) or len(source) != 1 or not source.keys() <= ENV_SOURCES:
        raise ValueError(
            f"env {name}: a mapping must hold exactly one of {', '.join(sorted(ENV_SOURCES))}, "
            'e.g. {"secretKeyRef": {"name": "db", "key": "password"}}'
        )
    return {"name": name, "valueFrom": source}


def _secret_key_ref(name: str, reference: SecretRef) -> dict[str, str]:
    key = reference.key or SECRET_DEFAULT_KEY
    if len(reference.name) > 253 or not _SECRET_NAME.match(reference.name):
        raise ValueError(
            f"env {name}: {reference} cannot name a Kubernetes Secret: a Secret's name is "
            "lower-case letters, digits, '-' and '.' (at most 253 characters)"
        )
    if not _SECRET_KEY.match(key):
        raise ValueError(f"env {name}: {key!r} cannot be a key of a Kubernetes Secret")
    return {"name": reference.name, "key": key}
