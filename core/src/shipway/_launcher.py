"""The ``shipway`` console script.

``shipway --help`` and ``shipway --version`` are answered from the page click renders
(kept in ``_help_page``, which a test keeps equal to click's output) without importing
click or anything else: they are what people type most, and they should cost little
more than starting Python. Every other command line goes to :func:`shipway.cli.main`.
"""

from __future__ import annotations

import sys

__all__ = ["main"]

_HELP = ("--help", "-h")
_VERSION = ("--version", "-V")
_PAGE_WIDTH = 78  # click's: the terminal's width, at most 80, less 2


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 1 and args[0] in _HELP + _VERSION and _page_fits():
        from shipway import _help_page

        page = _help_page.HELP if args[0] in _HELP else _help_page.VERSION
        sys.stdout.write(page)
        sys.stdout.flush()
        return
    from shipway.cli import main as cli_main

    cli_main(argv)


def _page_fits() -> bool:
    """Whether click would lay the page out at the width it was kept at (a terminal of
    80 columns or more, or no terminal); a narrower one gets click's own layout."""
    import shutil

    return min(shutil.get_terminal_size().columns, 80) - 2 == _PAGE_WIDTH
