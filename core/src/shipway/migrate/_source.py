"""Rewrite one module's source text; libcst is imported only here, on first use."""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from shipway.errors import ShipwayError
from shipway.migrate._notes import Note
from shipway.migrate._storage import storage_notes

if TYPE_CHECKING:
    import types

    import libcst

__all__ = [
    "LIBCST_MISSING",
    "Migration",
    "NotPython",
    "Undecodable",
    "migrate_source",
    "require_libcst",
]

LIBCST_MISSING = "shipway migrate needs libcst. Install it with: pip install 'shipway[migrate]'"


class NotPython(ShipwayError):
    """The source does not parse as Python; ``line`` and ``column`` say where."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


class Undecodable(ShipwayError):
    """The bytes are not text in the encoding the file declares (or UTF-8)."""


@dataclass(frozen=True)
class Migration:
    """The result of rewriting one module: the text before and after, its encoding
    (to write it back byte for byte as libcst read it), and what needs a look."""

    original: str
    code: str
    encoding: str = "utf-8"
    notes: list[Note] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.code != self.original


def require_libcst() -> types.ModuleType:
    try:
        import libcst
    except ImportError:
        raise ShipwayError(LIBCST_MISSING) from None
    return libcst


def migrate_source(source: str | bytes, path: Path | None = None) -> Migration:
    """Rewrite Prefect 2 and flow-runner-era code to shipway, keeping formatting and
    comments. ``path``: where the source is (``flow_location=`` names files beside it).

    ``bytes`` are decoded as Python does (an encoding cookie is honoured) and the
    result keeps that encoding. Raises :class:`NotPython` for a syntax error.
    """
    libcst = require_libcst()
    from shipway.migrate._leftovers import drop_unused_prefect
    from shipway.migrate._transform import rewrite_module

    if isinstance(source, bytes):
        _check_decodable(source)
    try:
        module = libcst.parse_module(source)
    except libcst.ParserSyntaxError as exc:
        raise _not_python(source, exc) from exc
    directory = path.resolve().parent if path is not None else None
    rewritten, notes = rewrite_module(module, directory)
    rewritten, leftovers = drop_unused_prefect(rewritten, _import_lines(module.code))
    stored = storage_notes(module.code)  # Prefect 2 storage blocks: the storage: blocks
    return Migration(
        module.code, rewritten.code, module.encoding, sorted({*notes, *leftovers, *stored})
    )


def _import_lines(code: str) -> dict[str, int]:
    """``"module:name"`` (``"module:"`` for ``import module``) -> its line in ``code``."""
    lines: dict[str, int] = {}
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                lines.setdefault(f"{node.module}:{alias.name}", node.lineno)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                lines.setdefault(f"{alias.name}:", node.lineno)
    return lines


def _not_python(source: str | bytes, exc: libcst.ParserSyntaxError) -> NotPython:
    """Where and why, as Python itself would say it (its messages are the ones people
    know); libcst's own if Python accepts what libcst cannot parse."""
    try:
        compile(source, "<migrate>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as python:
        return NotPython(python.msg, python.lineno or 1, python.offset or 1)
    except ValueError:  # null bytes
        return NotPython("the file contains null bytes", 1, 1)
    return NotPython(f"libcst cannot parse it: {exc.message}", exc.editor_line, exc.editor_column)


def _check_decodable(source: bytes) -> None:
    """Raise :class:`Undecodable` for an unknown encoding cookie or bytes that are not
    text in the declared encoding (libcst would raise a bare SyntaxError or worse)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        source.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        raise Undecodable(str(exc)) from exc
