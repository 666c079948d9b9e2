"""``shipway --help`` and ``--version`` are answered without importing click, from a kept
copy of click's page: these tests keep that copy equal to what click renders, and check
that the fast path imports nothing it does not need.

When a command or the group's options change, regenerate the copy with
``SHIPWAY_WRITE_HELP_PAGE=1 python -m pytest tests/core/test_cli_fast_help.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shipway import _help_page

PAGE_MODULE = Path(_help_page.__file__)
HEADER = """\"\"\"The page ``shipway --help`` prints, and ``shipway --version``'s line, as
click renders them at its default width: ``shipway._launcher`` prints them without
importing click. Generated: tests/core/test_cli_fast_help.py fails when they are stale,
and rewrites them when run with SHIPWAY_WRITE_HELP_PAGE=1.\"\"\"
"""


def page_module(help_page: str, version: str) -> str:
    """The module's source: each line of the page a string of its own (readable diffs)."""

    def lines(text: str) -> str:
        return "".join(f"    {line!r}\n" for line in text.splitlines(keepends=True))

    return f"{HEADER}\nHELP = (\n{lines(help_page)})\n\nVERSION = {version!r}\n"


def rendered(*args: str) -> str:
    """What click prints, in a terminal of 80 columns (CliRunner forces its own width)."""
    return subprocess.run(
        [sys.executable, "-c", "from shipway.cli import main; main()", *args],
        env={**os.environ, "COLUMNS": "80"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_the_kept_page_is_what_click_renders() -> None:
    help_page, version = rendered("--help"), rendered("--version")
    if os.environ.get("SHIPWAY_WRITE_HELP_PAGE"):
        PAGE_MODULE.write_text(page_module(help_page, version))
        pytest.skip(f"rewrote {PAGE_MODULE}")
    assert (help_page, version) == (_help_page.HELP, _help_page.VERSION), (
        "the kept help page is stale: rewrite it with "
        "SHIPWAY_WRITE_HELP_PAGE=1 python -m pytest tests/core/test_cli_fast_help.py"
    )
    assert rendered("-h") == help_page and rendered("-V") == version


def launch(*args: str, columns: str = "80") -> subprocess.CompletedProcess[str]:
    probe = (
        "import sys; from shipway._launcher import main; main(sys.argv[1:]); "
        "print(sorted(m for m in ('click', 'pydantic', 'shipway.cli') if m in sys.modules), "
        "file=sys.stderr)"
    )
    return subprocess.run(
        [sys.executable, "-c", probe, *args],
        env={**os.environ, "COLUMNS": columns},
        capture_output=True,
        text=True,
        check=True,
    )


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["--version"], ["-V"]])
def test_help_and_version_import_neither_click_nor_the_commands(args: list[str]) -> None:
    result = launch(*args)
    assert result.stdout == rendered(*args)
    assert result.stderr.strip() == "[]"


def test_a_narrow_terminal_gets_clicks_own_layout() -> None:
    result = launch("--help", columns="60")
    assert "'click'" in result.stderr
    assert result.stdout != _help_page.HELP
    assert result.stdout.startswith("Usage: shipway [OPTIONS] COMMAND [ARGS]...")


def test_other_command_lines_go_to_click() -> None:
    result = launch("plugins", "--help")
    assert "Usage: shipway plugins" in result.stdout
    assert "'click'" in result.stderr
