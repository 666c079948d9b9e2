"""The ``shipway`` command line.

One module per command group (``_run``, ``_deployment``, ``_flow_run``...), each importing
what it needs at its top; the group below imports a command's module only when that
command runs, so ``shipway --help`` loads click and nothing else.
"""

from __future__ import annotations

import sys

import click

from shipway._version import __version__
from shipway.cli._console import error
from shipway.cli._lazy import LazyCommand, LazyGroup
from shipway.cli._options import debug_option, state
from shipway.errors import ShipwayError
from shipway.exit_status import ExitStatus

__all__ = ["cli", "main"]

#: Every command: where it is defined, and the first sentence of its help. A change here
#: changes `shipway --help`: regenerate its kept page, shipway/_help_page.py (see
#: tests/core/test_cli_fast_help.py).
_COMMANDS = {
    "agent": LazyCommand(
        "shipway.cli._agent:agent_group",
        "Start agents, which run due flow runs on their infrastructure, and list them.",
    ),
    "deployment": LazyCommand(
        "shipway.cli._deployment:deployment_group",
        "Register, list, inspect and run deployments.",
    ),
    "flow-run": LazyCommand(
        "shipway.cli._flow_run:flow_run_group",
        "List, inspect, follow and cancel flow runs.",
    ),
    "image": LazyCommand(
        "shipway.cli._image:image_group",
        "Build images that run this project's flows.",
    ),
    "infra": LazyCommand(
        "shipway.cli._infra:infra_group",
        "Preview what a deployment would run, and show infrastructure fields.",
    ),
    "migrate": LazyCommand(
        "shipway.cli._migrate:migrate_command",
        "Move PATHS from Prefect 2 to shipway: Python files, Prefect's deployment YAML "
        "files, or directories searched for both.",
    ),
    "plugin": LazyCommand(
        "shipway.cli._plugin:plugin_group",
        "Develop shipway plugins.",
    ),
    "plugins": LazyCommand(
        "shipway.cli._plugins:plugins_command",
        "List every discovered plugin: type name, distribution, version, module, status.",
    ),
    "run": LazyCommand(
        "shipway.cli._run:run_command",
        "Run deployment NAME now on its infrastructure and stream its output.",
    ),
    "server": LazyCommand(
        "shipway.cli._server:server_group",
        "Serve the REST API and web UI over the store.",
    ),
    "work-queue": LazyCommand(
        "shipway.cli._work_queue:work_queue_group",
        "List work queues and set their limits.",
    ),
}


@click.group(
    cls=LazyGroup,
    lazy_commands=_COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, "-V", "--version", prog_name="shipway")
@debug_option
def cli() -> None:
    """Run Python flows on pluggable infrastructure, selected by name."""
    _configure_logging()  # here, not in main(): `--help` never needs it


def _configure_logging() -> None:
    import logging  # this module loads for every command, `--help` included

    logger = logging.getLogger("shipway")
    logger.setLevel(logging.DEBUG if state.debug else logging.WARNING)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("shipway: %(levelname)s: %(message)s"))
        logger.addHandler(handler)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: user mistakes become one message and a non-zero exit."""
    try:
        cli.main(args=argv, prog_name="shipway", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        error("aborted")
        sys.exit(ExitStatus.CANCELLED)
    except Exception as exc:
        if state.debug:
            import traceback  # only when something failed

            traceback.print_exc()
        if isinstance(exc, ShipwayError):
            error(str(exc))
            sys.exit(exc.exit_code)
        error(
            f"unexpected {type(exc).__name__}: {exc}\n"
            "This is a bug in shipway or a plugin; run again with --debug for the traceback."
        )
        sys.exit(ExitStatus.FAILED)
    except KeyboardInterrupt:
        error("interrupted")
        sys.exit(ExitStatus.CANCELLED)
