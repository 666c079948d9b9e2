"""Import statements in a rewritten module: marking the statements the rewrite drops,
and folding the new imports into those already at the top of the file, so that a file
that mixed old and new names does not import one name twice."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import libcst as cst

__all__ = [
    "dotted",
    "drop_removed",
    "merge_imports",
    "module_node",
    "module_of",
    "removed",
    "same_alias",
    "with_names",
]


_REMOVED_MARK = "__shipway_migrate_removed__"


def removed(line: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
    return line.with_changes(body=[cst.Expr(cst.Name(_REMOVED_MARK))])


def _is_removed(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, cst.Name)
        and statement.body[0].value.value == _REMOVED_MARK
    )


def drop_removed(
    body: Sequence[cst.BaseStatement],
) -> tuple[list[cst.BaseStatement], list[cst.EmptyLine]]:
    """Remove the marked statements, handing their comments (the lines above them) to the
    statement that follows; comments with no statement after them are returned, for the
    block's footer. No comment is lost."""
    kept: list[cst.BaseStatement] = []
    carried: list[cst.EmptyLine] = []
    for statement in body:
        if _is_removed(statement):
            assert isinstance(statement, cst.SimpleStatementLine)
            carried.extend(line for line in statement.leading_lines if line.comment)
            continue
        if carried and isinstance(statement, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            statement = statement.with_changes(leading_lines=[*carried, *statement.leading_lines])
            carried = []
        kept.append(statement)
    return kept, carried


def merge_imports(module: cst.Module, created: Sequence[cst.SimpleStatementLine]) -> cst.Module:
    """Fold each import the rewrite created into an import of the same module at the
    top of the file (``from shipway import flow`` + ``from shipway import Deployment``
    -> ``from shipway import Deployment, flow``). A created import carrying a comment
    is never removed (it may still receive names)."""
    body: list[cst.BaseStatement] = list(module.body)
    header = _header_length(body)
    keepers: dict[str, int] = {}
    for index in range(header):  # the author's own imports are preferred as keepers
        name = _plain_import_module(body[index])
        if name is not None and name not in keepers and not _contains(created, body[index]):
            keepers[name] = index
    for index in range(header):
        statement = body[index]
        name = _plain_import_module(statement)
        if name is None or not _contains(created, statement):
            continue
        keeper = keepers.setdefault(name, index)
        if keeper == index or _has_comment(statement):
            continue
        assert isinstance(statement, cst.SimpleStatementLine)
        body[keeper] = _add_names(body[keeper], _import_of(statement))
        body[index] = removed(statement)
    kept, footer = drop_removed(body)
    return module.with_changes(body=kept, footer=[*footer, *module.footer])


def _header_length(body: Sequence[cst.BaseStatement]) -> int:
    """How many statements at the top are imports (after the docstring, if any)."""
    index = 0
    if body and isinstance(body[0], cst.SimpleStatementLine):
        first = body[0].body[0] if body[0].body else None
        if isinstance(first, cst.Expr) and isinstance(first.value, cst.SimpleString):
            index = 1
    while index < len(body):
        statement = body[index]
        if not isinstance(statement, cst.SimpleStatementLine) or not all(
            isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body
        ):
            break
        index += 1
    return index


def _plain_import_module(statement: cst.BaseStatement) -> str | None:
    """The module of a line holding one ``from MODULE import names`` (no star)."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    node = statement.body[0]
    if not isinstance(node, cst.ImportFrom) or isinstance(node.names, cst.ImportStar):
        return None
    return module_of(node)


def _import_of(statement: cst.BaseStatement) -> cst.ImportFrom:
    assert isinstance(statement, cst.SimpleStatementLine)
    node = statement.body[0]
    assert isinstance(node, cst.ImportFrom)
    return node


def _add_names(statement: cst.BaseStatement, source: cst.ImportFrom) -> cst.BaseStatement:
    target = _import_of(statement)
    assert not isinstance(target.names, cst.ImportStar)
    assert not isinstance(source.names, cst.ImportStar)
    names = list(target.names)
    was_sorted = _sort_keys(names) == sorted(_sort_keys(names))
    for alias in source.names:
        if not any(same_alias(alias, other) for other in names):
            names.append(alias.with_changes(comma=cst.MaybeSentinel.DEFAULT))
    if was_sorted:
        names.sort(key=lambda alias: _sort_key(alias))
    assert isinstance(statement, cst.SimpleStatementLine)
    return statement.with_changes(body=[with_names(target, names)])


def _sort_key(alias: cst.ImportAlias) -> tuple[int, str, str]:
    """isort's "order by type": CONSTANTS, then Classes, then functions and the rest."""
    name = dotted(alias.name) or ""
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return (kind, name.lower(), name)


def _sort_keys(names: Iterable[cst.ImportAlias]) -> list[tuple[int, str, str]]:
    return [_sort_key(alias) for alias in names]


def with_names(node: cst.ImportFrom, names: Sequence[cst.ImportAlias]) -> cst.ImportFrom:
    """``node`` importing ``names``, with commas fit for where each name now stands:
    a one-line import gets plain separators; one name per line in brackets keeps each
    name's comma (and comment) and the trailing comma if it had one."""
    lpar = node.lpar
    old = node.names
    multiline = lpar is not None and isinstance(lpar.whitespace_after, cst.ParenthesizedWhitespace)
    if not multiline or isinstance(old, cst.ImportStar):
        plain = [alias.with_changes(comma=cst.MaybeSentinel.DEFAULT) for alias in names]
        return node.with_changes(names=plain)
    assert lpar is not None and isinstance(lpar.whitespace_after, cst.ParenthesizedWhitespace)
    indent = lpar.whitespace_after.last_line
    last_comma = old[-1].comma
    trailing = isinstance(last_comma, cst.Comma) and isinstance(
        last_comma.whitespace_after, cst.ParenthesizedWhitespace
    )
    end = (
        last_comma.whitespace_after.last_line
        if isinstance(last_comma, cst.Comma)
        and isinstance(last_comma.whitespace_after, cst.ParenthesizedWhitespace)
        else cst.SimpleWhitespace("")
    )
    result = []
    for index, alias in enumerate(names):
        last = index == len(names) - 1
        if last and not trailing:
            result.append(alias.with_changes(comma=cst.MaybeSentinel.DEFAULT))
            continue
        comma = alias.comma
        if not isinstance(comma, cst.Comma) or not isinstance(
            comma.whitespace_after, cst.ParenthesizedWhitespace
        ):
            comma = cst.Comma(
                whitespace_after=cst.ParenthesizedWhitespace(indent=True, last_line=indent)
            )
        assert isinstance(comma.whitespace_after, cst.ParenthesizedWhitespace)
        spacing = comma.whitespace_after.with_changes(last_line=end if last else indent)
        result.append(alias.with_changes(comma=comma.with_changes(whitespace_after=spacing)))
    return node.with_changes(names=result)


def _contains(nodes: Sequence[cst.CSTNode], node: cst.CSTNode) -> bool:
    return any(candidate is node for candidate in nodes)


def same_alias(a: cst.ImportAlias, b: cst.ImportAlias) -> bool:
    return dotted(a.name) == dotted(b.name) and a.evaluated_alias == b.evaluated_alias


def module_node(dotted: str) -> cst.Attribute | cst.Name:
    node = cst.parse_expression(dotted)
    assert isinstance(node, (cst.Attribute, cst.Name))
    return node


def dotted(node: cst.BaseExpression | None) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def module_of(node: cst.ImportFrom) -> str | None:
    return None if node.relative else dotted(node.module)


def _has_comment(node: cst.CSTNode) -> bool:
    return "#" in cst.Module(body=[]).code_for_node(node)
