"""The plugins the shipway project ships: type names, distributions and class names
(infrastructure and storage).

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
    "FIRST_PARTY_STORAGE",
    "GIT_TYPE",
    "KUBERNETES_TYPE",
    "LOCAL_FILE_SYSTEM_TYPE",
    "PROCESS_TYPE",
    "REMOTE_FILE_SYSTEM_TYPE",
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

LOCAL_FILE_SYSTEM_TYPE = "local-file-system"
GIT_TYPE = "git-repository"
REMOTE_FILE_SYSTEM_TYPE = "remote-file-system"

#: Storage type name -> the first-party plugin providing it (local-file-system is the core's).
FIRST_PARTY_STORAGE: dict[str, FirstPartyPlugin] = {
    LOCAL_FILE_SYSTEM_TYPE: FirstPartyPlugin("shipway", "LocalFileSystem"),
    GIT_TYPE: FirstPartyPlugin("shipway-git", "GitRepository"),
    REMOTE_FILE_SYSTEM_TYPE: FirstPartyPlugin("shipway-fsspec", "RemoteFileSystem"),
}

#: Short names users type for them (``shipway plugins install docker``) -> type name.
SHORT_NAMES: dict[str, str] = {
    "process": PROCESS_TYPE,
    "docker": DOCKER_TYPE,
    "kubernetes": KUBERNETES_TYPE,
    "k8s": KUBERNETES_TYPE,
    "git": GIT_TYPE,
    "fsspec": REMOTE_FILE_SYSTEM_TYPE,
}


def first_party_distribution(name: str) -> str | None:
    """The distribution providing a first-party type or short name (any case), else None."""
    key = name.strip().lower()
    key = SHORT_NAMES.get(key, key)
    plugin = FIRST_PARTY_PLUGINS.get(key) or FIRST_PARTY_STORAGE.get(key)
    return plugin.distribution if plugin else None
