"""``shipway plugins``: what is installed, and whether it loads; ``shipway plugins install``."""

from __future__ import annotations

import importlib.util
import json
import shlex
import subprocess
import sys

import click

from shipway.cli._console import status
from shipway.cli._options import debug_option
from shipway.cli._table import table
from shipway.errors import ShipwayError
from shipway.plugins import (
    KINDS,
    find_plugin_sources,
    first_party_distribution,
    get_registry,
)


@click.group("plugins", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@debug_option
@click.pass_context
def plugins_command(ctx: click.Context, as_json: bool) -> None:
    """List every discovered plugin: type name, distribution, version, module, status.

    `shipway plugins install NAME` installs one.
    """
    if ctx.invoked_subcommand is not None:
        return
    infos = get_registry().list_plugins()
    if as_json:
        click.echo(json.dumps([info.to_dict() for info in infos], indent=2))
        return
    rows = []
    for info in infos:
        status = info.status.value + (f": {info.error}" if info.error else "")
        rows.append([info.name, info.kind, info.distribution, info.version, info.module, status])
    if rows:
        table(["NAME", "KIND", "DISTRIBUTION", "VERSION", "MODULE", "STATUS"], rows)
    if not any(info.kind == "infrastructure" for info in infos):
        click.echo(
            "No infrastructure plugin installed. Install one, e.g.: shipway plugins install "
            "process  (or: pip install shipway-process)"
        )


@plugins_command.command("install")
@click.argument("names", nargs=-1, metavar="NAME...")
@click.option("-U", "--upgrade", is_flag=True, help="Upgrade to the newest version.")
@click.option(
    "-e",
    "--editable",
    "editable",
    multiple=True,
    metavar="PATH",
    help="Install the plugin project at PATH in editable mode (while developing it). Repeatable.",
)
@debug_option
def install_command(names: tuple[str, ...], upgrade: bool, editable: tuple[str, ...]) -> None:
    """Install plugins into shipway's own environment, with pip.

    NAME is a first-party short name (process, docker, kubernetes), a type name
    (docker-container), a distribution name with an optional version
    (shipway-acme>=1.2), or a path to a plugin project or wheel.
    """
    if not names and not editable:
        raise click.UsageError("name a plugin to install, e.g.: shipway plugins install docker")
    if importlib.util.find_spec("pip") is None:
        raise ShipwayError(
            f"pip is not available in shipway's environment ({sys.executable})",
            hint=f"Add it with: {shlex.quote(sys.executable)} -m ensurepip  "
            f"(or install the plugin with your own installer into that environment).",
        )
    requirements = [requirement_for(name) for name in names]
    command = [sys.executable, "-m", "pip", "install"]
    if upgrade:
        command.append("--upgrade")
    command += requirements
    for path in editable:
        command += ["--editable", path]

    before = _type_names()
    status(f"Running: {shlex.join(command)}")
    # pip's own output goes straight to the terminal, as it happens.
    code = subprocess.run(command, stdin=subprocess.DEVNULL, check=False).returncode
    if code != 0:
        raise ShipwayError(
            f"pip could not install {', '.join([*requirements, *editable])} "
            f"(exit status {code}); pip's output above says why",
            hint="Check the name or path, and that the package index can be reached.",
        )
    importlib.invalidate_caches()
    added = sorted(_type_names() - before)
    if added:
        status(f"New types: {', '.join(added)}", fg="green")
    status("Installed. `shipway plugins` lists what is installed and whether it loads.")


def _type_names() -> set[str]:
    """Every installed infrastructure and storage type, as ``kind type-name``."""
    return {f"{kind} {s.name}" for kind in KINDS for s in find_plugin_sources(kind.group)}


def requirement_for(name: str) -> str:
    """What to hand pip for ``name``: a short or type name becomes the distribution
    providing it; paths, URLs and other requirements pass through unchanged."""
    return first_party_distribution(name) or name
