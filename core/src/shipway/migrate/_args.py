"""Small edits of a call's arguments that keep the author's layout: dropping arguments
(the commas and line breaks around the others stay as they were), renaming a keyword,
and reading or writing literal values."""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from typing import Any

import libcst as cst

__all__ = [
    "NOT_LITERAL",
    "code_of",
    "drop_args",
    "keyword_of",
    "literal_of",
    "python_literal",
    "renamed",
    "with_args",
]

NOT_LITERAL: Any = object()


def keyword_of(arg: cst.Arg) -> str | None:
    return arg.keyword.value if arg.keyword is not None else None


def code_of(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


def literal_of(node: cst.BaseExpression) -> Any:
    """The value of a literal (``3``, ``"x"``, ``{"a": [1]}``), else :data:`NOT_LITERAL`."""
    try:
        return ast.literal_eval(code_of(node).strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return NOT_LITERAL


def python_literal(value: Any, quote: str) -> str:
    """Source text for a literal value, strings in the file's quote."""
    text = repr(value)
    if quote == '"' and isinstance(value, str) and '"' not in value:
        text = '"' + text[1:-1] + '"'
    return text


def renamed(arg: cst.Arg, keyword: str) -> cst.Arg:
    return arg.with_changes(keyword=cst.Name(keyword))


def with_args(call: cst.Call, args: Sequence[cst.Arg]) -> cst.Call:
    """``call`` with ``args``; the last one takes the comma (and line break) the original
    last argument had, so the closing bracket stays where it was (unless its own comma
    holds a comment)."""
    if not args:
        return call.with_changes(args=[])
    kept = list(args)
    original_last = call.args[-1] if call.args else None
    if original_last is not None and kept[-1] is not original_last:
        comma = kept[-1].comma
        commented = isinstance(comma, cst.Comma) and "#" in code_of(comma)
        if not commented:  # a comma carrying a comment stays, a trailing comma, with it
            kept[-1] = kept[-1].with_changes(comma=original_last.comma)
    return call.with_changes(args=kept)


def drop_args(call: cst.Call, drop: Callable[[cst.Arg], bool]) -> cst.Call:
    kept = [arg for arg in call.args if not drop(arg)]
    if len(kept) == len(call.args):
        return call
    return with_args(call, kept)
