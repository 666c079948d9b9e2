"""``shipway image build``: an image with the project's flows, for container infrastructure."""

from __future__ import annotations

from pathlib import Path

import click

from shipway._first_party import DOCKER_TYPE
from shipway.cli._console import status
from shipway.cli._options import debug_option
from shipway.errors import ShipwayError
from shipway.infrastructure import BuildsImages, ImageBuildRequest
from shipway.plugins import get_registry


@click.group("image")
@debug_option
def image_group() -> None:
    """Build images that run this project's flows."""


@image_group.command("build")
@click.argument(
    "project_dir",
    type=click.Path(exists=True, file_okay=False),
    default=".",
    required=False,
)
@click.option("-t", "--tag", required=True, help="The image tag to build, e.g. flows:1.0.")
@click.option("--base", "base_image", help="The base image (default: the plugin's own).")
@click.option(
    "--with",
    "distributions",
    multiple=True,
    metavar="DISTRIBUTION",
    help="Another installed distribution to put in the image: an infrastructure plugin, or "
    "the storage plugin runs pull their code with (shipway-git, shipway-fsspec). Repeatable.",
)
@click.option(
    "--type",
    "type_name",
    default=DOCKER_TYPE,
    show_default=True,
    help="The infrastructure type whose plugin builds the image.",
)
@debug_option
def build_command(
    project_dir: str,
    tag: str,
    base_image: str | None,
    distributions: tuple[str, ...],
    type_name: str,
) -> None:
    """Build an image holding PROJECT_DIR (default: .), shipway and the given plugins.

    Everything is installed from wheels built on this machine: the build itself
    needs no network. Deployments whose code comes from storage pull it when a run
    starts: the image then needs their storage plugin (--with shipway-git), not
    their code.
    """
    cls = get_registry().resolve(type_name)
    if not isinstance(cls, BuildsImages):
        raise ShipwayError(
            f"infrastructure type {type_name!r} cannot build images",
            hint=f"Use --type with a type that can, such as {DOCKER_TYPE}.",
        )
    request = ImageBuildRequest(
        project_dir=Path(project_dir).resolve(),
        tag=tag,
        base_image=base_image,
        distributions=distributions,
    )
    image_id = cls.build_image(request)
    status(f"Built {tag} ({image_id})", fg="green")
