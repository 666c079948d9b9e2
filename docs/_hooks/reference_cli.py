"""The command-line reference, from the click command tree in ``shipway.cli``: every
command's usage, help and options, as ``shipway COMMAND --help`` shows them.

Run it alone to see the page: ``python docs/_hooks/reference_cli.py``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator

import click
from markdown_text import cell, plain

PROG = "shipway"
# Wide enough that click never wraps a usage line or an option's names.
WIDTH = 100

INTRO = """\
# Command-line reference

Every `shipway` command with its usage, help and options, generated from the command
line itself when this site is built: the same text as `shipway COMMAND --help`. The
[command-line guide](../cli.md) has examples, how stopping a run works and what each exit
status means.

Every command also takes `-h` / `--help`.
"""


def render() -> tuple[str, list[str]]:
    """The page's Markdown, and the problems found while writing it."""
    from shipway.cli import cli

    problems: list[str] = []
    contexts = list(_walk(cli))
    parts = [INTRO]
    parts.append("| Command | What it does |\n|---|---|")
    for ctx in contexts:
        path = ctx.command_path
        summary = ctx.command.get_short_help_str(limit=200)
        parts.append(f"| [`{path}`](#{_anchor(path)}) | {cell(plain(summary))} |")
    parts.append("")
    for ctx in contexts:
        parts.append(_section(ctx, problems))
    return "\n".join(parts), problems


def _walk(command: click.Command, parent: click.Context | None = None) -> Iterator[click.Context]:
    """Each command with its context (so usage lines read ``shipway infra preview``),
    parents before children."""
    name = PROG if parent is None else command.name
    ctx = click.Context(
        command, info_name=name, parent=parent, terminal_width=WIDTH, max_content_width=WIDTH
    )
    yield ctx
    if isinstance(command, click.Group):
        for sub_name in command.list_commands(ctx):
            sub = command.get_command(ctx, sub_name)
            if sub is not None and not sub.hidden:
                yield from _walk(sub, ctx)


def _section(ctx: click.Context, problems: list[str]) -> str:
    command = ctx.command
    lines = [f"## {ctx.command_path}", ""]
    lines += ["```text", command.get_usage(ctx), "```", ""]
    help_text = _help_text(command)
    if not help_text:
        problems.append(f"`{ctx.command_path}` has no help text: give it a docstring")
    lines += [plain(help_text), ""]
    options = [
        record
        for param in command.get_params(ctx)
        if isinstance(param, click.Option) and not param.hidden and "--help" not in param.opts
        for record in [param.get_help_record(ctx)]
        if record is not None
    ]
    for param in command.get_params(ctx):
        if isinstance(param, click.Option) and not param.hidden and not param.help:
            problems.append(f"option {'/'.join(param.opts)} of `{ctx.command_path}` has no help")
    if options:
        lines += ["| Option | Meaning |", "|---|---|"]
        lines += [f"| `{cell(names)}` | {cell(plain(text))} |" for names, text in options]
        lines.append("")
    if isinstance(command, click.Group):
        subcommands = [
            (name, sub)
            for name in command.list_commands(ctx)
            if (sub := command.get_command(ctx, name)) is not None and not sub.hidden
        ]
        lines += ["| Command | What it does |", "|---|---|"]
        for name, sub in subcommands:
            path = f"{ctx.command_path} {name}"
            summary = sub.get_short_help_str(limit=200)
            lines.append(f"| [`{name}`](#{_anchor(path)}) | {cell(plain(summary))} |")
        lines.append("")
    return "\n".join(lines)


def _help_text(command: click.Command) -> str:
    """The help as ``--help`` shows it: cut at ``\\f``, without click's ``\\b`` markers."""
    text = inspect.cleandoc(command.help or "").partition("\f")[0]
    return "\n".join(line for line in text.splitlines() if line.strip() != "\b").strip()


def _anchor(heading: str) -> str:
    """The id Python-Markdown's toc gives a heading (its default slugify)."""
    slug = re.sub(r"[^\w\s-]", "", heading).strip().lower()
    return re.sub(r"[-\s]+", "-", slug)


if __name__ == "__main__":
    markdown, found = render()
    print(markdown)
    for problem in found:
        print("PROBLEM:", problem)
