"""A click group that imports a command's module only when that command runs.

Each command module imports what its commands need at its top (pydantic, rich, the
plugins...). The group names every command with its module and its one-line help, so
``shipway --help`` lists them all without importing any, and ``shipway flow-run ls``
imports ``shipway.cli._flow_run`` alone.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, NamedTuple

import click


class LazyCommand(NamedTuple):
    """Where a command is defined, ``"module:attribute"``, and its help's first sentence
    (the text ``--help`` lists it with; a test keeps it equal to the command's own)."""

    target: str
    short_help: str

    def load(self) -> click.Command:
        module_name, _, attribute = self.target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.target} is {command!r}, not a click command")
        return command


class LazyGroup(click.Group):
    """A ``click.Group`` whose ``lazy_commands`` load on first use."""

    def __init__(
        self, *args: Any, lazy_commands: Mapping[str, LazyCommand] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        lazy = self.lazy_commands.get(cmd_name)
        if lazy is not None and cmd_name not in self.commands:
            self.add_command(lazy.load(), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's own listing, with the table's help for the commands not loaded yet."""
        shown: dict[str, click.Command | None] = {}
        for name in self.list_commands(ctx):
            command = self.commands.get(name)
            if command is None or not command.hidden:
                shown[name] = command
        if not shown:
            return
        limit = formatter.width - 6 - max(len(name) for name in shown)
        rows = [(name, self._short_help(name, command, limit)) for name, command in shown.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def _short_help(self, name: str, command: click.Command | None, limit: int) -> str:
        if command is None:  # a stand-in with the table's help, shortened by click alike
            command = click.Command(name, help=self.lazy_commands[name].short_help)
        return command.get_short_help_str(limit)
