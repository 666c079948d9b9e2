"""Terminal output: status lines on stderr (stdout carries the flow's own output)."""

from __future__ import annotations

from typing import Any

import click


def status(message: str, **style: Any) -> None:
    click.secho(message, err=True, **style)


def error(message: str) -> None:
    first, _, rest = message.partition("\n")
    click.secho(f"Error: {first}", err=True, fg="red", bold=True)
    if rest:
        click.echo(rest, err=True)
