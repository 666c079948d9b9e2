"""The Run form's fields, from the flow's signature, and the checks of what a user typed.

The server never imports a flow (that would run the user's code in the server, and the
flow may live only on the agents' machines): it reads the function's signature from the
source file with :mod:`ast`. When the file cannot be read (a ``package.module:function``
entrypoint, code kept elsewhere), the fields are the deployment's default parameters.
The agent's engine still validates every run against the real signature.
"""

from __future__ import annotations

import ast
import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipway.entrypoints import is_file_entrypoint, split_entrypoint

__all__ = ["ParameterField", "parameter_fields", "parse_parameters"]

_KINDS = {"int": "integer", "float": "number", "bool": "boolean", "str": "string"}
_MISSING = object()


@dataclasses.dataclass(frozen=True)
class ParameterField:
    name: str
    kind: str
    """integer, number, boolean, string, or json (anything else, typed as JSON)."""
    annotation: str
    required: bool
    default: Any = None

    @property
    def default_text(self) -> str:
        if self.default is None:
            return ""
        if self.kind == "string" and isinstance(self.default, str):
            return self.default
        return json.dumps(self.default)


def parameter_fields(
    entrypoint: str, working_dir: str | None, defaults: Mapping[str, Any]
) -> list[ParameterField]:
    """The flow's parameters in signature order, the deployment's defaults applied."""
    signature = _signature(entrypoint, working_dir)
    if signature is None:
        return [_field(name, None, value) for name, value in defaults.items()]
    fields = []
    for name, annotation, default in signature:
        fields.append(_field(name, annotation, defaults.get(name, default)))
    return fields


def parse_parameters(
    fields: list[ParameterField], form: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The parameters a submitted form gives, and the error of each field that is wrong.

    An empty optional field keeps the deployment's default (it is not sent)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in fields:
        raw = form.get(field.name, "")
        if field.kind == "boolean":
            values[field.name] = raw in ("true", "on", "1")
            continue
        if not raw.strip():
            if field.required:
                errors[field.name] = "required"
            continue
        try:
            values[field.name] = _convert(field.kind, raw)
        except ValueError as exc:
            errors[field.name] = str(exc)
    return values, errors


def _convert(kind: str, raw: str) -> Any:
    text = raw.strip()
    if kind == "string":
        return raw
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"must be a whole number, not {text!r}") from None
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"must be a number, not {text!r}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"must be JSON ({exc.args[0]})") from None


def _field(name: str, annotation: str | None, default: Any) -> ParameterField:
    kind = _KINDS.get((annotation or "").replace("typing.", ""), "")
    if not kind:
        kind = _kind_of_value(default) if annotation is None else "json"
    required = default is _MISSING
    return ParameterField(
        name=name,
        kind=kind,
        annotation=annotation or "",
        required=required,
        default=None if required else default,
    )


def _kind_of_value(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    for python_type, kind in ((int, "integer"), (float, "number"), (str, "string")):
        if isinstance(value, python_type):
            return kind
    return "json"


Signature = list[tuple[str, str | None, Any]]


def _signature(entrypoint: str, working_dir: str | None) -> Signature | None:
    """``(name, annotation source, default or _MISSING)`` of each parameter a caller can
    name, read from the source file; None when it cannot be read."""
    try:
        target, attribute = split_entrypoint(entrypoint)
    except Exception:
        return None
    if not is_file_entrypoint(target) or "." in attribute:
        return None
    path = Path(working_dir or ".") / target
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == attribute:
            return _parameters_of(node.args)
    return None


def _parameters_of(args: ast.arguments) -> Signature:
    positional = [*args.posonlyargs, *args.args]
    defaults: list[Any] = [_MISSING] * (len(positional) - len(args.defaults))
    defaults += [_literal(d) for d in args.defaults]
    named = list(zip(args.args, defaults[len(args.posonlyargs) :], strict=True))
    named += [
        (arg, _MISSING if d is None else _literal(d))
        for arg, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
    ]
    return [
        (arg.arg, ast.unparse(arg.annotation) if arg.annotation else None, default)
        for arg, default in named
    ]


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return None  # a default the form cannot show: leave it to the flow
