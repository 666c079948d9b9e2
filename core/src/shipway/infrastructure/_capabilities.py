"""Optional capabilities an infrastructure type may declare.

They are declared, not guessed: the core checks for the method and, when a type lacks
it, says so and names what to use instead.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = ["BuildsImages", "ImageBuildRequest"]


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
