"""A container's environment as Kubernetes defines it: ``envFrom`` first, then ``env``
with values, ``$(VAR)`` references and ``valueFrom`` (fieldRef, secretKeyRef,
configMapKeyRef, resourceFieldRef) read from the API server, because the plugin under
test passes settings and secrets to flows that way."""

from __future__ import annotations

import base64
import math
import re
from typing import Any

import quantity
from kubernetes import client
from kubernetes.client.exceptions import ApiException


class ConfigError(Exception):
    """The container cannot be configured (CreateContainerConfigError), e.g. a missing
    secret; the kubelet retries, as the real one does."""


_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(text: str, variables: dict[str, str]) -> str:
    """``$(NAME)`` → its value when defined, ``$$`` → ``$``, as Kubernetes expands."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return variables.get(name, match.group(0))

    return _REFERENCE.sub(replace, text)


def resolve(core: client.CoreV1Api, pod: Any, container: Any) -> dict[str, str]:
    namespace = pod.metadata.namespace
    environment: dict[str, str] = {}
    for source in container.env_from or []:
        prefix = source.prefix or ""
        if source.config_map_ref:
            data = _config_map(
                core, namespace, source.config_map_ref.name, source.config_map_ref.optional
            )
        elif source.secret_ref:
            data = _secret(core, namespace, source.secret_ref.name, source.secret_ref.optional)
        else:
            continue
        environment.update({prefix + key: value for key, value in data.items()})
    for variable in container.env or []:
        if variable.value_from is None:
            environment[variable.name] = expand(variable.value or "", environment)
            continue
        value = _value_from(core, pod, container, variable.value_from)
        if value is not None:
            environment[variable.name] = value
    return environment


def _value_from(core: client.CoreV1Api, pod: Any, container: Any, source: Any) -> str | None:
    namespace = pod.metadata.namespace
    if source.field_ref:
        return _field(pod, source.field_ref.field_path)
    if source.secret_key_ref:
        ref = source.secret_key_ref
        data = _secret(core, namespace, ref.name, ref.optional)
        if ref.key not in data:
            if ref.optional:
                return None
            raise ConfigError(f"couldn't find key {ref.key} in Secret {namespace}/{ref.name}")
        return data[ref.key]
    if source.config_map_key_ref:
        ref = source.config_map_key_ref
        data = _config_map(core, namespace, ref.name, ref.optional)
        if ref.key not in data:
            if ref.optional:
                return None
            raise ConfigError(f"couldn't find key {ref.key} in ConfigMap {namespace}/{ref.name}")
        return data[ref.key]
    if source.resource_field_ref:
        ref = source.resource_field_ref
        kind, _, resource = ref.resource.partition(".")
        amounts = getattr(container.resources, kind, None) or {}
        if resource not in amounts:
            return "0"
        divisor = quantity.parse(ref.divisor or "1")
        return str(math.ceil(quantity.parse(amounts[resource]) / divisor))
    return None


def _field(pod: Any, path: str) -> str:
    metadata = pod.metadata
    match = re.fullmatch(r"metadata\.(labels|annotations)\['(.*)'\]", path)
    if match:
        return str((getattr(metadata, match.group(1)) or {}).get(match.group(2), ""))
    values = {
        "metadata.name": metadata.name,
        "metadata.namespace": metadata.namespace,
        "metadata.uid": metadata.uid,
        "spec.nodeName": pod.spec.node_name,
        "spec.serviceAccountName": pod.spec.service_account_name,
        "status.hostIP": "127.0.0.1",
        "status.podIP": (pod.status and pod.status.pod_ip) or "",
    }
    return str(values.get(path) or "")


def _secret(
    core: client.CoreV1Api, namespace: str, name: str, optional: bool | None
) -> dict[str, str]:
    try:
        secret = core.read_namespaced_secret(name, namespace)
    except ApiException as exc:
        if exc.status == 404 and optional:
            return {}
        if exc.status == 404:
            raise ConfigError(f'secret "{name}" not found') from exc
        raise
    decoded = {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}
    decoded.update(secret.string_data or {})
    return decoded


def _config_map(
    core: client.CoreV1Api, namespace: str, name: str, optional: bool | None
) -> dict[str, str]:
    try:
        return dict(core.read_namespaced_config_map(name, namespace).data or {})
    except ApiException as exc:
        if exc.status == 404 and optional:
            return {}
        if exc.status == 404:
            raise ConfigError(f'configmap "{name}" not found') from exc
        raise
