"""The ``shipway`` group loads a command's module only when that command runs, and lists
every command from its table with the same help the command itself has."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import click
import pytest

from shipway.cli import cli
from shipway.cli._lazy import LazyGroup

LAZY = cli.lazy_commands if isinstance(cli, LazyGroup) else {}


def test_the_root_group_is_lazy() -> None:
    assert isinstance(cli, LazyGroup)
    assert {"run", "deployment", "flow-run", "agent", "plugins", "migrate"} <= set(LAZY)


@pytest.mark.parametrize("name", sorted(LAZY))
def test_the_table_names_the_command_and_its_first_sentence(name: str) -> None:
    command = LAZY[name].load()
    assert isinstance(command, click.Command)
    assert command.name == name
    assert LAZY[name].short_help == command.get_short_help_str(limit=10_000)


def _run_and_list_modules(args: list[str]) -> tuple[str, set[str]]:
    code = textwrap.dedent(
        f"""
        import sys
        from shipway.cli import main
        try:
            main({args!r})
        except SystemExit:
            pass
        print("MODULES", " ".join(sorted(sys.modules)))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    output, _, modules = result.stdout.rpartition("MODULES ")
    return output, set(modules.split())


def test_help_lists_every_command_without_importing_one() -> None:
    output, modules = _run_and_list_modules(["--help"])
    for name in LAZY:
        assert f"  {name} " in output
    command_modules = {LAZY[name].target.partition(":")[0] for name in LAZY}
    assert not command_modules & modules
    assert not {"pydantic", "rich", "sqlalchemy", "anyio", "yaml"} & modules


def test_a_command_imports_its_own_module_only() -> None:
    _, modules = _run_and_list_modules(["plugin", "--help"])
    loaded = {name for name in LAZY if LAZY[name].target.partition(":")[0] in modules}
    assert loaded == {"plugin"}


@pytest.mark.parametrize("command", ["deployment", "infra", "run"])
def test_commands_that_read_a_file_do_not_load_the_database_layer(command: str) -> None:
    _, modules = _run_and_list_modules([command, "--help"])  # loads the command's module
    assert {"sqlalchemy", "alembic"}.isdisjoint(modules)
