"""Step 4 of the rewrite: what is still imported from Prefect.

The rewrite removes uses (a ``task_runner=`` keyword, a ``storage=`` block, a schedule
class turned into a mapping); the names they used would keep the file importing
``prefect``, which a shipway project does not install. So the rewritten module is read
again: a Prefect name nothing uses any more is removed from its import, with the
statements that only built a value nobody reads (``storage = S3.load("prod")``); a name
still used stays, with a note naming it and what to do."""

from __future__ import annotations

from collections.abc import Mapping

import libcst as cst
from libcst.metadata import MetadataWrapper, ParentNodeProvider, ScopeProvider

from shipway.migrate._args import code_of
from shipway.migrate._imports import drop_removed, module_of, removed, with_names
from shipway.migrate._notes import Note
from shipway.migrate._rules import OLD_MODULES

__all__ = ["drop_unused_prefect", "is_prefect_module"]

_STORAGE = (
    "a storage block: shipway runs the flow from the project directory or from an image "
    "that holds the code (docs/plugins/docker-images.md)"
)
_ADVICE = {
    "prefect.blocks.system": "a value kept on Prefect's server: read it from the "
    "environment instead (env={'NAME': {'secret': 'NAME'}} passes a shipway secret, "
    "docs/security.md)",
    "prefect.filesystems": _STORAGE,
    "prefect.task_runners": "submitted tasks run on the flow run's thread pool: remove it",
    "prefect.tasks": "shipway does not cache task results: remove it",
    "prefect.context": "shipway has no run context object: pass what the flow needs as parameters",
    "prefect.runtime": "shipway has no run context object: pass what the flow needs as parameters",
    "prefect.states": "a flow fails by raising an exception and completes by returning",
}


def is_prefect_module(module: str | None) -> bool:
    return bool(module) and (
        module == "prefect" or str(module).startswith(("prefect.", "prefect_"))
    )


def drop_unused_prefect(
    module: cst.Module, lines: Mapping[str, int]
) -> tuple[cst.Module, list[Note]]:
    """``module`` without unused Prefect imports, and a note for each used one;
    ``lines`` gives the line (in the original file) each imported name was on."""
    for _ in range(3):  # removing a dead statement may leave another name unused
        dropper = _Dropper(MetadataWrapper(module))
        if not dropper.aliases and not dropper.statements:
            break
        module = dropper.module.visit(dropper)
        body, footer = drop_removed(module.body)
        module = module.with_changes(body=body, footer=[*footer, *module.footer])
    return module, _notes_for_the_rest(module, lines)


class _Dropper(cst.CSTTransformer):
    def __init__(self, wrapper: MetadataWrapper) -> None:
        super().__init__()
        self.module = wrapper.module
        scopes = wrapper.resolve(ScopeProvider)
        parents = wrapper.resolve(ParentNodeProvider)
        self.aliases: set[cst.ImportAlias] = set()
        self.statements: set[cst.SimpleStatementLine] = set()
        for node, scope in scopes.items():
            if not isinstance(node, cst.ImportFrom) or scope is None:
                continue
            if not is_prefect_module(module_of(node)) or isinstance(node.names, cst.ImportStar):
                continue
            for alias in node.names:
                local = alias.evaluated_alias or alias.evaluated_name
                uses = [
                    access.node
                    for assignment in scope.assignments[local]
                    if getattr(assignment, "node", None) is node
                    for access in assignment.references
                ]
                dead = [_dead_statement(use, parents, scopes) for use in uses]
                if all(statement is not None for statement in dead):
                    self.aliases.add(alias)
                    self.statements.update(s for s in dead if s is not None)

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom:
        if isinstance(original_node.names, cst.ImportStar):
            return updated_node
        kept = [alias for alias in original_node.names if alias not in self.aliases]
        if len(kept) == len(original_node.names) or not kept:
            return updated_node
        return with_names(updated_node, kept)

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        if original_node in self.statements:
            return removed(updated_node)
        only = original_node.body[0] if len(original_node.body) == 1 else None
        if (
            isinstance(only, cst.ImportFrom)
            and not isinstance(only.names, cst.ImportStar)
            and all(alias in self.aliases for alias in only.names)
        ):
            return removed(updated_node)
        return updated_node


def _dead_statement(
    use: cst.CSTNode,
    parents: Mapping[cst.CSTNode, cst.CSTNode],
    scopes: Mapping[cst.CSTNode, object],
) -> cst.SimpleStatementLine | None:
    """The line ``name = <expression using it>`` at the top of the module whose ``name``
    nothing reads, or None."""
    node: cst.CSTNode | None = use
    while node is not None and not isinstance(node, cst.SimpleStatementLine):
        node = parents.get(node)
    if node is None or len(node.body) != 1 or not isinstance(node.body[0], cst.Assign):
        return None
    if not isinstance(parents.get(node), cst.Module):
        return None
    assign = node.body[0]
    scope = scopes.get(assign)
    for target in assign.targets:
        if not isinstance(target.target, cst.Name) or scope is None:
            return None
        assignments = scope.assignments[target.target.value]  # type: ignore[attr-defined]
        if any(assignment.references for assignment in assignments):
            return None
    return node


def _notes_for_the_rest(module: cst.Module, lines: Mapping[str, int]) -> list[Note]:
    notes = []
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.ImportFrom) and is_prefect_module(module_of(small)):
                name = module_of(small) or ""
                if isinstance(small.names, cst.ImportStar) and name in OLD_MODULES:
                    continue  # step 1 said what to do
                names = (
                    ["*"]
                    if isinstance(small.names, cst.ImportStar)
                    else [code_of(alias.name) for alias in small.names]
                )
                for imported in names:
                    advice = _ADVICE.get(name) or (
                        _STORAGE
                        if name.startswith(("prefect_aws", "prefect_gcp", "prefect_azure",
                                            "prefect_github", "prefect_gitlab"))
                        else "shipway has no equivalent: rewrite the code that uses it"
                    )  # fmt: skip
                    notes.append(
                        Note(
                            lines.get(f"{name}:{imported}", 0),
                            f"{imported} is still imported from {name} (the file needs "
                            f"prefect installed): {advice}",
                        )
                    )
    return notes
