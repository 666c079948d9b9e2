"""``shipway migrate``: rewrite Prefect 2 deployment code (and flow-runner code) for
shipway; Prefect's deployment YAML files become a shipway.yaml."""

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
    """Move PATHS from Prefect 2 to shipway: Python files, Prefect's deployment YAML
    files, or directories searched for both.

    Python files are rewritten in place, formatting and comments kept: imports from
    prefect, DeploymentSpec, Deployment and Deployment.build_from_flow, flow runners
    and infrastructure blocks, schedules, options shipway lacks (each removed with a
    note saying what to do). A deployment.yaml or prefect.yaml becomes a shipway.yaml
    beside it. The diff is printed. With --check nothing is written and the exit
    status is 1 if anything would change. Exits 2 if a path could not be migrated
    (unreadable, a syntax error); the other paths are still processed.
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
        if outcome.status is Status.CHANGED and outcome.written:
            verb = "Would write" if check else "Wrote"
            status(
                f"{verb} {outcome.written} from {outcome.display}",
                fg="yellow" if check else "green",
            )
        elif outcome.status is Status.CHANGED:
            verb = "Would rewrite" if check else "Rewrote"
            status(f"{verb} {outcome.display}", fg="yellow" if check else "green")
        elif outcome.written:
            status(f"{outcome.display}: {outcome.written} is up to date", dim=True)
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
