"""Calls that build an infrastructure: the 2.0 betas' flow runners
(``SubprocessFlowRunner(condaenv=...)`` -> ``Process(conda_env=...)``) and Prefect 2's
blocks (``prefect.infrastructure.DockerContainer(...)``, the same class in shipway).
Fields are renamed where shipway spells them differently, pull policies take the new
spelling, env values that are not strings become the text Prefect passed on, and what
has no equivalent is removed with a note saying what to do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import libcst as cst

from shipway.flow_runners import (
    DockerFlowRunner,
    FlowRunner,
    KubernetesFlowRunner,
    docker_pull_policy,
    kubernetes_pull_policy,
)
from shipway.migrate._args import keyword_of, with_args
from shipway.migrate._notes import Notes
from shipway.migrate._prefect_blocks import Block
from shipway.migrate._rules import path_fields

__all__ = [
    "rewrite_block_call",
    "rewrite_runner_call",
    "stringified_env",
    "stringified_env_value",
]


def rewrite_runner_call(
    original: cst.Call, updated: cst.Call, name: str, runner: type[FlowRunner], notes: Notes
) -> cst.Call:
    keywords = {keyword_of(arg) for arg in updated.args}
    if runner is DockerFlowRunner and {"networks", "network_mode"} <= keywords:
        notes.note(
            original,
            "DockerContainer takes networks or network_mode, not both (network_mode "
            "replaces the container's networking): remove one of them",
        )
    args = []
    for arg in updated.args:
        keyword = keyword_of(arg)
        if arg.star == "**" and runner.renamed_fields:
            renames = ", ".join(f"{a} to {b}" for a, b in runner.renamed_fields.items())
            notes.note(
                original,
                f"keyword arguments passed to {name} with ** are not rewritten: "
                f"rename {renames} in them by hand",
            )
        if keyword is None:
            args.append(arg)
            continue
        if keyword not in runner.model_fields:
            notes.note(
                original,
                f"{name} has no field {keyword!r} "
                f"(it has: {', '.join(runner.model_fields)}): fix or remove it",
            )
        new_keyword = runner.renamed_fields.get(keyword, keyword)
        changes: dict[str, Any] = {}
        if new_keyword != keyword:
            changes["keyword"] = cst.Name(new_keyword)
        if keyword == "image_pull_policy":
            spell = _RUNNER_POLICIES.get(runner)
            value = pull_policy(original, arg.value, spell, notes) if spell else arg.value
            if value is not arg.value:
                changes["value"] = value
        elif keyword == "env":
            changes["value"] = stringified_env(arg.value, notes.quote)
        elif keyword in path_fields(runner) and _builds_a_path(arg.value):
            # Process(conda_env=..., virtualenv=...) take strings, not Path objects.
            changes["value"] = cst.Call(func=cst.Name("str"), args=[cst.Arg(arg.value)])
        args.append(arg.with_changes(**changes) if changes else arg)
    return updated.with_changes(args=args)


_RUNNER_POLICIES: dict[type[FlowRunner], Callable[[Any], str]] = {
    DockerFlowRunner: docker_pull_policy,
    KubernetesFlowRunner: kubernetes_pull_policy,
}


def rewrite_block_call(
    original: cst.Call, updated: cst.Call, block: Block, notes: Notes
) -> cst.Call:
    """``DockerContainer(image=..., image_pull_policy="ALWAYS", env={"N": 2})`` in
    shipway's spelling; fields without an equivalent are removed, with a note."""
    args: list[cst.Arg] = []
    for arg in updated.args:
        keyword = keyword_of(arg)
        if keyword is None:
            args.append(arg)
            continue
        if keyword in block.dropped:
            notes.note(original, f"{keyword}= (removed) is {block.dropped[keyword]}")
            continue
        if keyword not in block.fields:
            notes.note(
                original,
                f"{block.prefect_class} has no field {keyword!r} in shipway "
                f"(it has: {', '.join(sorted(block.fields))}): fix or remove it",
            )
        if keyword == "env":
            arg = arg.with_changes(value=stringified_env(arg.value, notes.quote))
        elif keyword == "image_pull_policy" and block.pull_policy is not None:
            arg = arg.with_changes(value=pull_policy(original, arg.value, block.pull_policy, notes))
        args.append(arg)
    if len(args) != len(updated.args):
        return with_args(updated, args)
    return updated.with_changes(args=args)


def pull_policy(
    call: cst.Call, value: cst.BaseExpression, spell: Callable[[Any], str], notes: Notes
) -> cst.BaseExpression:
    """A string literal in the spelling the new field documents."""
    if not isinstance(value, cst.SimpleString):
        return value
    text = value.evaluated_value
    if not isinstance(text, str):
        return value
    try:
        new = spell(text)
    except ValueError:
        notes.note(call, f"image_pull_policy={text!r} is not an image pull policy")
        return value
    if new == text:
        return value
    return value.with_changes(value=f"{value.prefix}{value.quote}{new}{value.quote}")


def stringified_env(value: cst.BaseExpression, quote: str) -> cst.BaseExpression:
    """``{"WORKERS": 4, "DEBUG": True}`` -> ``{"WORKERS": "4", "DEBUG": "True"}``: the text
    Prefect passed on (pydantic 1 made them strings with ``str()``). Only literals change;
    a variable is left as it is."""
    if not isinstance(value, cst.Dict):
        return value
    elements = [
        element.with_changes(value=stringified_env_value(element.value, quote))
        if isinstance(element, cst.DictElement)
        else element
        for element in value.elements
    ]
    return value.with_changes(elements=elements)


def stringified_env_value(value: cst.BaseExpression, quote: str) -> cst.BaseExpression:
    text = _literal_text(value)
    if text is None:
        return value
    return cst.SimpleString(f"{quote}{text}{quote}", lpar=value.lpar, rpar=value.rpar)


def _literal_text(node: cst.BaseExpression) -> str | None:
    if isinstance(node, (cst.Integer, cst.Float)):
        return node.value
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = _literal_text(node.expression)
        return f"-{inner}" if inner is not None else None
    if isinstance(node, cst.Name) and node.value in ("True", "False"):
        return node.value
    return None


_PATH_CLASSES = frozenset({"Path", "PurePath", "PosixPath", "WindowsPath"})


class _FindsPath(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def visit_Name(self, node: cst.Name) -> None:
        self.found = self.found or node.value in _PATH_CLASSES


def _builds_a_path(value: cst.BaseExpression) -> bool:
    """Whether ``value`` is an expression built with pathlib's classes (``Path("/opt/x")``,
    ``Path.home() / "envs"``): the one kind of value known to be a Path, not a string."""
    if isinstance(value, (cst.Name, cst.BaseString)):
        return False  # a variable may hold a string; a literal is one
    finder = _FindsPath()
    value.visit(finder)
    return finder.found
