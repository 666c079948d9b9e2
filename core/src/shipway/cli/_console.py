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


def table(columns: list[str], rows: list[list[str]], title: str | None = None) -> None:
    """A rich table on stdout (rich is imported only by commands that print tables)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    grid = Table(*columns, title=title, title_justify="left", show_lines=False)
    for row in rows:
        grid.add_row(*(escape(cell) for cell in row))
    Console().print(grid)
