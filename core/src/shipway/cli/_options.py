"""Options shared by every command."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from shipway.environment import DEBUG_VAR, flag_is_set
from shipway.errors import ParameterError

F = TypeVar("F", bound=Callable[..., Any])


class _State:
    debug: bool = flag_is_set(DEBUG_VAR)


state = _State()


def _enable_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        state.debug = True


def debug_option(fn: F) -> F:
    """``--debug`` on every command (and the group): show tracebacks for errors."""
    return click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_enable_debug,
        help=f"Show the full traceback when something fails (or set {DEBUG_VAR}=1).",
    )(fn)


def file_option(fn: F) -> F:
    return click.option(
        "-f",
        "--file",
        "file",
        type=click.Path(dir_okay=False, path_type=str),
        default=None,
        help="A shipway.yaml or a Python file defining Deployments (default: ./shipway.yaml).",
    )(fn)


def allow_dirty_option(fn: F) -> F:
    """For commands that push code to storage (``apply``, ``push``, ``run``)."""
    return click.option(
        "--allow-dirty",
        is_flag=True,
        help="Push even when the git checkout has uncommitted changes (git-repository "
        "storage records the commit; the changes are not part of it).",
    )(fn)


def run_input_options(fn: F) -> F:
    """Parameters and overrides, shared by `run` and `infra preview`."""
    fn = click.option(
        "--override",
        "overrides",
        multiple=True,
        metavar="KEY=VALUE",
        help="Set an infrastructure field: env.FOO=bar, working_dir=/tmp; null unsets; "
        "storage.FIELD=VALUE sets a storage field. Repeatable.",
    )(fn)
    fn = click.option(
        "--params", "params_json", metavar="JSON", help="Parameters as one JSON object."
    )(fn)
    fn = click.option(
        "-p",
        "--param",
        "params",
        multiple=True,
        metavar="KEY=VALUE",
        help="One parameter; converted to the flow's annotated type. Repeatable.",
    )(fn)
    return fn


def parse_parameters(params: tuple[str, ...], params_json: str | None) -> dict[str, Any]:
    """``--params`` JSON first, then each ``-p`` on top of it."""
    import json  # not at the top: every command loads this module, `--help` too

    parameters: dict[str, Any] = {}
    if params_json:
        try:
            loaded = json.loads(params_json)
        except json.JSONDecodeError as exc:
            raise ParameterError(f"--params is not valid JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise ParameterError('--params must be a JSON object, e.g. --params \'{"name": "x"}\'')
        parameters.update(loaded)
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ParameterError(f"-p {item!r} must look like KEY=VALUE, e.g. -p name=world")
        parameters[key] = value
    return parameters
