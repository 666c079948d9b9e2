"""Optional capabilities an infrastructure type may declare.

They are declared, not guessed: the core checks for the method and, when a type lacks
it, says so and names what to use instead.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from shipway.infrastructure._result import InfrastructureResult

__all__ = ["BuildsImages", "ImageBuildRequest", "ReattachesRuns", "default_runtime_image"]


def default_runtime_image() -> str:
    """The tag every container plugin runs by default, and the one to give
    ``shipway image build``: ``shipway-runtime:<shipway version>-python<major.minor>``."""
    from shipway import __version__

    return f"shipway-runtime:{__version__}-python{sys.version_info[0]}.{sys.version_info[1]}"


@dataclasses.dataclass(frozen=True)
class ImageBuildRequest:
    """What ``shipway image build`` asks for.

    ``project_dir`` is copied into the image as the flows' working directory;
    ``distributions`` are installed into it besides ``shipway`` (plugins, say);
    ``base_image`` replaces the plugin's default base.
    """

    project_dir: Path
    tag: str
    base_image: str | None = None
    distributions: tuple[str, ...] = ()


@runtime_checkable
class BuildsImages(Protocol):
    """An infrastructure type that can build a runnable image of a project."""

    @classmethod
    def build_image(cls, request: ImageBuildRequest) -> str:
        """Build the image and return its id; stream progress to the terminal."""
        ...


@runtime_checkable
class ReattachesRuns(Protocol):
    """An infrastructure type that can follow a run another process started.

    An agent that restarts after a crash calls it for every run its predecessor left
    running: the run is watched again instead of being declared lost.
    """

    async def reattach(self, identifier: str) -> InfrastructureResult:
        """Wait for the run ``identifier`` to end and return its result, forwarding the
        output it still produces where the platform keeps it.

        Raises :class:`~shipway.infrastructure.InfrastructureNotFound` when the run is
        gone and its result with it, and
        :class:`~shipway.infrastructure.InfrastructureNotAvailable` when it lives
        somewhere this process cannot reach.
        """
        ...
