"""Read YAML and remember the line of every key, so errors can say where."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from shipway.errors import ConfigError

__all__ = ["Locations", "load_yaml"]

Loc = tuple[str | int, ...]


class Locations:
    """Maps a path into the data (``("deployments", 1, "infrastructure")``) to ``file:line``."""

    def __init__(self, file: str, lines: dict[Loc, int] | None = None) -> None:
        self.file = file
        self._lines = lines or {}

    def __call__(self, loc: Loc = ()) -> str:
        """The closest known line for ``loc``: a field missing in the file points at its parent."""
        line = self.line(loc)
        return f"{self.file}:{line}" if line else self.file

    def line(self, loc: Loc = ()) -> int:
        """The closest known line number for ``loc`` (0 when none is known)."""
        loc = tuple(loc)
        while loc:
            if loc in self._lines:
                return self._lines[loc]
            loc = loc[:-1]
        return 0


def _record(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            child = (*loc, key)
            lines[child] = key_node.start_mark.line + 1
            _record(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record(item, (*loc, index), lines)


def _read_text(path: Path, display: str) -> str:
    """The file as text; unreadable or non-UTF-8 files are the user's to fix, not a crash."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror or exc}", location=display) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"the file is not UTF-8 text (byte {data[exc.start]:#04x} cannot be decoded)",
            location=f"{display}:{line}",
            hint="YAML files must be UTF-8: save it with that encoding.",
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")  # as text mode reads it


# libyaml's loader when PyYAML was built with it (the wheels are): several times faster.
_FastSafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse(text: str) -> tuple[Any, yaml.Node | None]:
    """The document and its node tree (for line numbers), from one parse; a malformed
    file is parsed again by PyYAML's own loader, whose messages say more."""
    try:
        return _parse_with(_FastSafeLoader, text)
    except yaml.YAMLError:
        if _FastSafeLoader is yaml.SafeLoader:
            raise
    return _parse_with(yaml.SafeLoader, text)


def _parse_with(loader_class: Any, text: str) -> tuple[Any, yaml.Node | None]:
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), node
    finally:
        loader.dispose()


def load_yaml(path: Path, display: str) -> tuple[Any, Locations]:
    """Parse ``path``; malformed YAML is a :class:`ConfigError` with file and line."""
    text = _read_text(path, display)
    try:
        data, node = _parse(text)
    except yaml.YAMLError as exc:
        problem_mark = getattr(exc, "problem_mark", None)
        context_mark = getattr(exc, "context_mark", None)
        mark = problem_mark or context_mark
        at_end = mark is not None and mark.line >= text.count("\n")
        if mark is problem_mark and context_mark is not None and at_end:
            mark = context_mark  # "end of file" says less than where the open bracket is
        where = f"{display}:{mark.line + 1}:{mark.column + 1}" if mark else display
        detail = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        if context:
            detail += f" ({context}"
            if context_mark is not None and problem_mark is not None:
                detail += f" at line {context_mark.line + 1}"
            detail += ")"
        raise ConfigError(f"invalid YAML: {detail}", location=where) from exc
    lines: dict[Loc, int] = {}
    if node is not None:
        _record(node, (), lines)
    return data, Locations(display, lines)
