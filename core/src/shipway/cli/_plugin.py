"""``shipway plugin new NAME``: generate a complete infrastructure plugin package."""

from __future__ import annotations

from pathlib import Path

import click

from shipway.cli._console import status
from shipway.cli._options import debug_option
from shipway.scaffold import generate_plugin


@click.group("plugin")
@debug_option
def plugin_group() -> None:
    """Develop shipway plugins."""


@plugin_group.command("new")
@click.argument("name")
@click.option(
    "--path",
    "parent",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="Directory to create the package in (as DIR/shipway-NAME).",
)
@debug_option
def new_command(name: str, parent: str) -> None:
    """Generate an infrastructure plugin package for type NAME (e.g. my-cluster).

    It is complete and working: a pyproject.toml with the entry point, an
    Infrastructure class that runs flows as local processes (a starting point to
    replace with your platform's calls), tests using shipway's conformance suite that
    pass right away, and a README.
    """
    target, names = generate_plugin(name, Path(parent))
    status(
        f"Created {names.distribution} in {target}: type {names.type_name!r}, "
        f"class {names.module}.{names.class_name}",
        fg="green",
    )
    status(
        "Next:\n"
        f"  cd {target}\n"
        "  shipway plugins install -e '.[test]'   # into shipway's environment, with pytest\n"
        "  pytest"
    )
