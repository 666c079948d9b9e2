"""Prefect 2's infrastructure blocks (``prefect.infrastructure``) and what each field
becomes: shipway's first-party plugins kept their names and almost all their fields.
One table for the Python rewrite and for Prefect's YAML files. Pure data."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shipway._first_party import DOCKER_TYPE, KUBERNETES_TYPE, PROCESS_TYPE
from shipway.flow_runners import docker_pull_policy, kubernetes_pull_policy

__all__ = ["BLOCKS", "BLOCKS_BY_TYPE", "Block", "block_mapping", "env_string"]

_BASE = frozenset({"type", "name", "labels", "env", "command"})

#: Keys Prefect writes into a saved block that are not settings.
_BLOCK_BOOKKEEPING = frozenset(
    {"block_type_slug", "_block_type_slug", "_block_document_id", "_block_document_name",
     "_is_anonymous", "block_document_id", "block_document_name"}
)  # fmt: skip


@dataclass(frozen=True)
class Block:
    prefect_class: str
    type_name: str
    fields: frozenset[str]
    """Fields with the same name and meaning in the shipway infrastructure."""
    dropped: Mapping[str, str] = field(default_factory=dict)
    """Fields shipway has no equivalent for, and what to do instead."""
    pull_policy: Callable[[Any], str] | None = None


BLOCKS: dict[str, Block] = {
    "Process": Block("Process", PROCESS_TYPE, _BASE | {"stream_output", "working_dir"}),
    "DockerContainer": Block(
        "DockerContainer",
        DOCKER_TYPE,
        _BASE
        | {
            "image",
            "image_pull_policy",
            "networks",
            "network_mode",
            "auto_remove",
            "volumes",
            "stream_output",
            "memswap_limit",
            "mem_limit",
            "privileged",
        },
        dropped={
            "image_registry": "a Prefect DockerRegistry block: give DockerContainer "
            "image_registry={'url': ..., 'username': ..., 'password': {'secret': NAME}} "
            "(docs/plugins/docker.md), or `docker login` on the agent's machine",
        },
        pull_policy=docker_pull_policy,
    ),
    "KubernetesJob": Block(
        "KubernetesJob",
        KUBERNETES_TYPE,
        _BASE
        | {
            "image",
            "namespace",
            "service_account_name",
            "image_pull_policy",
            "job",
            "customizations",
            "job_watch_timeout_seconds",
            "pod_watch_timeout_seconds",
            "stream_output",
            "finished_job_ttl",
        },
        dropped={
            "cluster_config": "a Prefect KubernetesClusterConfig block: choose the cluster "
            "with KubernetesJob's kubeconfig=, context= or in_cluster=True "
            "(docs/plugins/kubernetes.md)",
        },
        pull_policy=kubernetes_pull_policy,
    ),
}
BLOCKS_BY_TYPE = {block.type_name: block for block in BLOCKS.values()}


def env_string(value: Any) -> Any:
    """An env value as Prefect passed it on: pydantic 1 made numbers and booleans text
    with ``str()`` (``True`` -> ``"True"``); None (unset the variable) stays None."""
    if value is None or isinstance(value, str):
        return value
    return str(value)


def block_mapping(data: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """A saved Prefect block (as ``prefect deployment build`` writes it) as a shipway
    infrastructure mapping, and what could not come along; None if its type is unknown."""
    type_name = str(data.get("type") or data.get("_block_type_slug") or "")
    block = BLOCKS_BY_TYPE.get(type_name)
    if block is None:
        return None, [f"infrastructure type {type_name!r} has no shipway equivalent"]
    result: dict[str, Any] = {"type": block.type_name}
    notes: list[str] = []
    for key, value in data.items():
        if key in _BLOCK_BOOKKEEPING or key == "type" or value is None:
            continue
        if value in ({}, []) and key in ("env", "labels", "networks", "volumes",
                                         "customizations"):  # fmt: skip
            continue
        if key in block.dropped:
            notes.append(f"{key} is {block.dropped[key]}")
            continue
        if key not in block.fields:
            notes.append(f"{block.prefect_class} field {key!r} has no shipway equivalent: dropped")
            continue
        if key == "env" and isinstance(value, Mapping):
            value = {str(k): env_string(v) for k, v in value.items()}
        if key == "image_pull_policy" and block.pull_policy is not None:
            try:
                value = block.pull_policy(value)
            except ValueError:
                notes.append(f"image_pull_policy {value!r} is not an image pull policy: dropped")
                continue
        result[key] = value
    return result, notes
