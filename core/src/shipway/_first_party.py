"""The plugins the shipway project ships: type names, distributions and class names.

Used to tell users what to install and to accept short names; the core never imports
these packages (it only knows entry points). Re-exported by ``shipway.plugins``; it
lives outside that package so the CLI can read these names without loading the plugin
machinery (pluggy, the registry) on every start.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "DOCKER_TYPE",
    "FIRST_PARTY_PLUGINS",
    "KUBERNETES_TYPE",
    "PROCESS_TYPE",
    "SHORT_NAMES",
    "FirstPartyPlugin",
    "first_party_distribution",
]


class FirstPartyPlugin(NamedTuple):
    """The distribution that provides a first-party type, and its class's name."""

    distribution: str
    class_name: str


PROCESS_TYPE = "process"
DOCKER_TYPE = "docker-container"
KUBERNETES_TYPE = "kubernetes-job"

#: Type name -> the first-party plugin providing it.
FIRST_PARTY_PLUGINS: dict[str, FirstPartyPlugin] = {
    PROCESS_TYPE: FirstPartyPlugin("shipway-process", "Process"),
    DOCKER_TYPE: FirstPartyPlugin("shipway-docker", "DockerContainer"),
    KUBERNETES_TYPE: FirstPartyPlugin("shipway-kubernetes", "KubernetesJob"),
}

#: Short names users type for them (``shipway plugins install docker``) -> type name.
SHORT_NAMES: dict[str, str] = {
    "process": PROCESS_TYPE,
    "docker": DOCKER_TYPE,
    "kubernetes": KUBERNETES_TYPE,
    "k8s": KUBERNETES_TYPE,
}


def first_party_distribution(name: str) -> str | None:
    """The distribution providing a first-party type or short name (any case), else None."""
    key = name.strip().lower()
    plugin = FIRST_PARTY_PLUGINS.get(SHORT_NAMES.get(key, key))
    return plugin.distribution if plugin else None
