"""shipway-git: flow code from a git repository (``type: git-repository``)."""

from shipway_git._repository import GitRepository

__version__ = "0.1.0"

__all__ = ["GitRepository", "__version__"]
