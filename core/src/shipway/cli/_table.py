"""Tables on stdout, drawn by rich (only the commands that print one import this module)."""

from __future__ import annotations

import os

from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Column, Table


def table(columns: list[str], rows: list[list[str]], title: str | None = None) -> None:
    """A rich table on stdout."""
    # Fold, never cut: names ("shipway-docker", not "shipway-doc…") must stay whole,
    # since users copy them into commands and configuration.
    grid = Table(
        *(Column(name, overflow="fold") for name in columns),
        title=title,
        title_justify="left",
        show_lines=False,
    )
    for row in rows:
        grid.add_row(*(escape(cell) for cell in row))
    console = Console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        # Piped, and no width asked for: no screen to fit, so keep each row on one line.
        natural = Measurement.get(console, console.options.update_width(10_000), grid).maximum
        console = Console(width=max(console.width, natural))
    console.print(grid)
