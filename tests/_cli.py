"""`shipway ARGS` in this process, for click's CliRunner: main() with its error handling
and exit statuses, as a user's shell would see them."""

from __future__ import annotations

import click


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.pass_context
def shipway_main(ctx: click.Context) -> None:
    """`shipway ARGS` in this process: main() with its error handling and exit statuses."""
    from shipway.cli import main

    main(list(ctx.args))
