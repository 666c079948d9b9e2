"""The ``shipway`` command line. Commands import their heavy dependencies when they
run, so ``shipway --help`` stays fast."""

from __future__ import annotations

import sys

import click

from shipway._version import __version__
from shipway.cli._agent import agent_group
from shipway.cli._deployment import deployment_group
from shipway.cli._flow_run import flow_run_group
from shipway.cli._image import image_group
from shipway.cli._infra import infra_group
from shipway.cli._migrate import migrate_command
from shipway.cli._options import debug_option, state
from shipway.cli._plugin import plugin_group
from shipway.cli._plugins import plugins_command
from shipway.cli._run import run_command
from shipway.cli._work_queue import work_queue_group

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="shipway")
@debug_option
def cli() -> None:
    """Run Python flows on pluggable infrastructure, selected by name."""
    _configure_logging()  # here, not in main(): `--help` never needs it


cli.add_command(run_command)
cli.add_command(deployment_group)
cli.add_command(flow_run_group)
cli.add_command(work_queue_group)
cli.add_command(infra_group)
cli.add_command(plugins_command)
cli.add_command(plugin_group)
cli.add_command(image_group)
cli.add_command(migrate_command)
cli.add_command(agent_group)


def _configure_logging() -> None:
    import logging

    logger = logging.getLogger("shipway")
    logger.setLevel(logging.DEBUG if state.debug else logging.WARNING)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("shipway: %(levelname)s: %(message)s"))
        logger.addHandler(handler)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: user mistakes become one message and a non-zero exit."""
    from shipway.cli._console import error

    try:
        cli.main(args=argv, prog_name="shipway", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        error("aborted")
        sys.exit(130)
    except Exception as exc:
        from shipway.errors import ShipwayError

        if state.debug:
            import traceback

            traceback.print_exc()
        if isinstance(exc, ShipwayError):
            error(str(exc))
            sys.exit(exc.exit_code)
        error(
            f"unexpected {type(exc).__name__}: {exc}\n"
            "This is a bug in shipway or a plugin; run again with --debug for the traceback."
        )
        sys.exit(1)
    except KeyboardInterrupt:
        error("interrupted")
        sys.exit(130)
