"""``shipway migrate``: rewrite flow-runner code to the infrastructure syntax."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from shipway.cli._console import error, status
from shipway.cli._options import debug_option
from shipway.migrate import Status, migrate_paths, require_libcst

# A code formatter's statuses (black, ruff format --check), which CI steps expect from a
# rewriting tool, not a run's (shipway.exit_status): 1 is "a file would change", not "a
# flow failed".
EXIT_WOULD_CHANGE = 1
EXIT_ERRORS = 2


@click.command("migrate")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 if any file would change (for CI).",
)
@click.option(
    "--diff/--no-diff",
    "show_diff",
    default=True,
    show_default=True,
    help="Print a unified diff of each change on stdout.",
)
@debug_option
def migrate_command(paths: tuple[str, ...], check: bool, show_diff: bool) -> None:
    """Rewrite PATHS (Python files, or directories searched for them) from flow runners
    to infrastructure: imports, class names, flow_runner= to infrastructure=, and
    renamed fields such as condaenv to conda_env. Formatting and comments are kept.

    Files are rewritten in place and the diff is printed. With --check nothing is
    written and the exit status is 1 if any file would change. Exits 2 if a path
    could not be migrated (not Python, unreadable, a syntax error); the other paths
    are still processed.
    """
    require_libcst()
    counts = dict.fromkeys(Status, 0)
    for outcome in migrate_paths([Path(p) for p in paths], write=not check):
        counts[outcome.status] += 1
        if outcome.status is Status.ERROR:
            error(outcome.error or outcome.display)
            continue
        if outcome.diff and show_diff:
            _print_diff(outcome.diff)
        if outcome.status is Status.CHANGED:
            verb = "Would rewrite" if check else "Rewrote"
            status(f"{verb} {outcome.display}", fg="yellow" if check else "green")
        else:
            status(f"{outcome.display}: nothing to migrate", dim=True)
        for note in outcome.notes:
            status(f"{outcome.display}:{note.line}: note: {note.message}", fg="yellow")
    status(_summary(counts, check))
    if counts[Status.ERROR]:
        sys.exit(EXIT_ERRORS)
    if check and counts[Status.CHANGED]:
        sys.exit(EXIT_WOULD_CHANGE)


def _print_diff(diff: str) -> None:
    colours = {"+": "green", "-": "red", "@": "cyan"}
    for line in diff.splitlines():
        heading = line.startswith(("+++", "---"))
        click.secho(line, fg=None if heading else colours.get(line[:1]), bold=heading)


def _summary(counts: dict[Status, int], check: bool) -> str:
    changed = counts[Status.CHANGED]
    parts = [
        f"{changed} {'would be rewritten' if check else 'rewritten'}",
        f"{counts[Status.UNCHANGED]} unchanged",
    ]
    if counts[Status.ERROR]:
        parts.append(f"{counts[Status.ERROR]} could not be migrated")
    total = sum(counts.values())
    return f"{total} file{'' if total == 1 else 's'}: {', '.join(parts)}."
