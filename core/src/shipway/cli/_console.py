"""Terminal output: status lines on stderr (stdout carries the flow's own output)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from shipway.states import StateType

_STATE_COLOURS = {
    "Scheduled": "cyan",
    "Pending": "cyan",
    "Running": "blue",
    "Completed": "green",
    "Failed": "red",
    "Crashed": "red",
    "Cancelling": "yellow",
    "Cancelled": "yellow",
}


def status(message: str, **style: Any) -> None:
    click.secho(message, err=True, **style)


def state_colour(state: StateType) -> str | None:
    """The colour a run's state is shown in, by every command alike."""
    return _STATE_COLOURS.get(state.value)


def error(message: str) -> None:
    first, _, rest = message.partition("\n")
    click.secho(f"Error: {first}", err=True, fg="red", bold=True)
    if rest:
        click.echo(rest, err=True)
