"""Putting plain text (help, field descriptions) into generated Markdown safely."""

from __future__ import annotations

import html
import re


def plain(text: str) -> str:
    """Keep ``SHIPWAY_*``, ``<shipway version>`` or ``[default: 30]`` from reading as
    Markdown or HTML. Text in backticks stays as it is: help and descriptions quote
    commands and values that way, and it renders as code."""
    pieces = text.split("`")
    for i in range(0, len(pieces), 2):  # the even pieces are outside backticks
        escaped = html.escape(pieces[i], quote=False)
        pieces[i] = re.sub(r"([\\*_\[\]])", r"\\\1", escaped)
    return "`".join(pieces)


def cell(text: str) -> str:
    """A table cell is one line, and a ``|`` would end it, except inside backticks
    (Python-Markdown's tables keep code spans whole, and would show a backslash there)."""
    pieces = " ".join(text.split()).split("`")
    for i in range(0, len(pieces), 2):
        pieces[i] = pieces[i].replace("|", "\\|")
    return "`".join(pieces)
