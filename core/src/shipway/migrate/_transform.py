"""The rewrite itself, on libcst's concrete syntax tree, which keeps every comment,
blank line and bracket the author wrote.

1. ``make_plan`` (``_plan.py``) finds the imports of old names, every use of each, and
   which uses are rewritten; a use that is not keeps its old name imported, with a note.
2. ``_Rewrite`` changes calls, keywords, attributes and import statements.
3. ``merge_imports`` folds the new imports into those already at the top of the file,
   so a file that mixed both syntaxes does not import one name twice.
"""

from __future__ import annotations

from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper

from shipway.migrate._decorators import rewrite_decorator_call
from shipway.migrate._deployment_calls import rewrite_deployment_call
from shipway.migrate._imports import (
    dotted,
    drop_removed,
    merge_imports,
    module_node,
    module_of,
    removed,
    same_alias,
    with_names,
)
from shipway.migrate._infrastructure_calls import rewrite_block_call, rewrite_runner_call
from shipway.migrate._notes import Note
from shipway.migrate._plan import Binding, Plan, make_plan
from shipway.migrate._rules import FLOW_RUNNERS_MODULE, Kind, provided_by_flow_runners
from shipway.migrate._schedules import rewrite_schedule_call

__all__ = ["rewrite_module"]

_DEPLOYMENT_CLASSES = ("Deployment", "DeploymentSpec")
_RUNNER_CLASSES = ("SubprocessFlowRunner", "DockerFlowRunner", "KubernetesFlowRunner")


def rewrite_module(
    module: cst.Module, directory: Path | None = None
) -> tuple[cst.Module, list[Note]]:
    """The module in the new syntax, and what needs a look by hand. ``directory``: where
    the file is, to find the files ``flow_location=`` names."""
    wrapper = MetadataWrapper(module)
    plan = make_plan(wrapper)
    plan.directory = directory
    rewrite = _Rewrite(plan)
    rewritten = wrapper.module.visit(rewrite)
    rewritten = merge_imports(rewritten, rewrite.created)
    return rewritten, sorted(set(plan.notes))


# -- 2. the rewrite --------------------------------------------------------------------


class _Rewrite(cst.CSTTransformer):
    def __init__(self, plan: Plan) -> None:
        super().__init__()
        self.plan = plan
        self.created: list[cst.SimpleStatementLine] = []
        self.emptied: set[cst.IndentedBlock] = set()

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if original_node in self.plan.renamed:
            binding = self.plan.binding_of_use[original_node]
            return updated_node.with_changes(value=binding.rule.new_name)
        return updated_node

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        if original_node.value in self.plan.converted:
            binding = self.plan.binding_of_use[original_node.value]
            value = binding.rule.policy[original_node.attr.value]
            quote = self.plan.quote
            return cst.SimpleString(
                f"{quote}{value}{quote}", lpar=updated_node.lpar, rpar=updated_node.rpar
            )
        return updated_node

    # -- calls ---------------------------------------------------------------------------

    def leave_Call(
        self, original_node: cst.Call, updated_node: cst.Call
    ) -> cst.BaseExpression:
        func = original_node.func
        binding = self.plan.binding_of_use.get(func)
        kind = binding.rule.kind if binding is not None else None
        if binding is not None and kind is Kind.RUNNER:
            assert binding.rule.runner is not None  # every RUNNER rule names its class
            return rewrite_runner_call(
                original_node, updated_node, binding.name, binding.rule.runner, self.plan
            )
        if binding is not None and kind is Kind.INFRASTRUCTURE:
            assert binding.rule.block is not None
            return rewrite_block_call(original_node, updated_node, binding.rule.block, self.plan)
        if binding is not None and kind is Kind.SCHEDULE:
            return rewrite_schedule_call(updated_node, original_node, binding.name, self.plan)
        if binding is not None and kind in (Kind.FLOW, Kind.TASK):
            decorator = binding.rule.new_name
            return rewrite_decorator_call(original_node, updated_node, decorator, self.plan)
        if kind is Kind.DEPLOYMENT:
            return self._deployment_call(original_node, updated_node, binding)
        if isinstance(func, cst.Attribute):
            return self._method_call(original_node, updated_node, func)
        return updated_node

    def _method_call(
        self, original: cst.Call, updated: cst.Call, func: cst.Attribute
    ) -> cst.BaseExpression:
        owner = self.plan.binding_of_use.get(func.value)
        method = func.attr.value
        assert isinstance(updated.func, cst.Attribute)
        if original in self.plan.deployment_calls:  # Deployment.build_from_flow(...)
            call = updated.with_changes(func=updated.func.value)
            return self._deployment_call(original, call, owner)
        if owner is not None and owner.rule.kind is Kind.INFRASTRUCTURE and method == "load":
            self.plan.note(
                original,
                f"{owner.name}.load(...) read a block saved on Prefect's server: write its "
                f"settings here, {owner.name}(...), or name a block of shipway.yaml's "
                "infrastructure: section",
            )
            return updated.with_changes(func=updated.func.value, args=[])
        if method == "apply" and func.value in self.plan.deployment_calls:
            return updated.func.value  # Deployment.build_from_flow(...).apply(): the deployment
        if method in ("serve", "deploy") and self._imports_prefects_flow():
            self.plan.note(
                original,
                f"{dotted(func) or method}(...) (Prefect 2.10+) is not rewritten: declare a "
                "Deployment(name=..., flow=..., schedule=...) at the top of a file and "
                "`shipway deployment apply -f FILE` (an agent then runs it)",
            )
        if method in _DEPLOYMENT_CLASSES:
            return self._deployment_call(original, updated, None)
        if method in _RUNNER_CLASSES:
            self.plan.note(
                original,
                f"{dotted(func) or method}(...) is not rewritten: import "
                f"{method} with 'from ... import' and run shipway migrate again, "
                "or rewrite it by hand",
            )
        return updated

    def _deployment_call(
        self, original: cst.Call, updated: cst.Call, binding: Binding | None
    ) -> cst.Call:
        if binding is not None and not binding.already_new:
            return rewrite_deployment_call(original, updated, self.plan, self.plan.directory)
        keywords = [arg.keyword.value for arg in updated.args if arg.keyword]
        if "flow_runner" in keywords and "infrastructure" in keywords:
            self.plan.note(
                original,
                "both flow_runner= and infrastructure= are given: remove flow_runner=, "
                "the deprecated spelling (not rewritten)",
            )
            return updated
        args = [
            arg.with_changes(keyword=cst.Name("infrastructure"))
            if arg.keyword and arg.keyword.value == "flow_runner"
            else arg
            for arg in updated.args
        ]
        return updated.with_changes(args=args)

    # -- imports -------------------------------------------------------------------------

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.FlattenSentinel[cst.BaseStatement] | cst.RemovalSentinel:
        gone = self._prefect_api_call(original_node)
        if gone is not None:
            self.plan.note(original_node, gone)
            return removed(updated_node)
        replaced = [
            self._replacement(statement) if isinstance(statement, cst.ImportFrom) else None
            for statement in original_node.body
        ]
        if all(groups is None for groups in replaced):
            return updated_node
        if len(original_node.body) == 1:
            groups = replaced[0]
            assert groups is not None
            if not groups:
                return removed(updated_node)
            lines = [
                cst.SimpleStatementLine(
                    body=[group],
                    leading_lines=updated_node.leading_lines if index == 0 else (),
                    trailing_whitespace=updated_node.trailing_whitespace
                    if index == len(groups) - 1
                    else cst.TrailingWhitespace(),
                )
                for index, group in enumerate(groups)
            ]
            self.created.extend(lines)
            return cst.FlattenSentinel(lines)
        # Several statements on one line (a; b): rewrite an import in place when it stays
        # one statement; otherwise leave the line alone and say so.
        body: list[cst.BaseSmallStatement] = []
        for statement, groups in zip(updated_node.body, replaced, strict=True):
            if groups is None:
                body.append(statement)
            elif len(groups) == 1:
                body.append(groups[0].with_changes(semicolon=statement.semicolon))
            else:
                self.plan.note(
                    original_node,
                    "this line has several statements: put the import on a line of its "
                    "own and run shipway migrate again",
                )
                return updated_node
        if not body:
            return removed(updated_node)
        body[-1] = body[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
        return updated_node.with_changes(body=body)

    def _imports_prefects_flow(self) -> bool:
        return any(
            b.rule.kind is Kind.FLOW and not b.already_new for b in self.plan.bindings.values()
        )

    def _prefect_api_call(self, line: cst.SimpleStatementLine) -> str | None:
        """What to say when removing a line that only called Prefect's API:
        ``deployment.apply()`` in a file that builds Prefect deployments, or
        ``block.save("name")`` on an infrastructure block; None for any other line."""
        if len(line.body) != 1 or not isinstance(line.body[0], cst.Expr):
            return None
        call = line.body[0].value
        if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Attribute):
            return None
        method, target = call.func.attr.value, call.func.value
        # Deployment(...).apply() keeps its deployment: leave_Call strips the .apply()
        if (
            method == "apply"
            and isinstance(target, cst.Name)
            and bool(self.plan.deployment_calls)
            and not any(arg.keyword is None for arg in call.args)
        ):
            return (
                "deployment.apply() removed: store the deployments with "
                "`shipway deployment apply -f FILE` (`shipway run NAME -f FILE` runs one now)"
            )
        if method == "save" and (
            target in self.plan.block_calls
            or (isinstance(target, cst.Name) and target.value in self.plan.block_variables)
        ):
            return (
                "block.save(...) removed: shipway names infrastructure blocks in shipway.yaml "
                "(infrastructure: {NAME: {type: ..., ...}}), or takes the infrastructure "
                "itself in Deployment(infrastructure=...)"
            )
        return None

    def _replacement(self, node: cst.ImportFrom) -> list[cst.ImportFrom] | None:
        """The import statements replacing ``node``, one per module (none if every name
        went away), or None if it stays as it is."""
        module = module_of(node)
        if module is None or isinstance(node.names, cst.ImportStar):
            return None
        targets: list[tuple[str, cst.ImportAlias]] = []
        changed = False
        for alias in node.names:
            binding = self.plan.bindings.get(alias)
            if binding is None:
                targets.append((module, alias))
                continue
            moved = _targets(binding)
            changed = changed or moved != [(module, binding.name)]
            for new_module, new_name in moved:
                renamed = alias.with_changes(name=cst.Name(new_name))
                targets.append((new_module, renamed if new_name != binding.name else alias))
        if not changed:
            return None
        groups: dict[str, list[cst.ImportAlias]] = {}
        for new_module, alias in targets:
            names = groups.setdefault(new_module, [])
            if not any(same_alias(alias, other) for other in names):
                names.append(alias)
        return [
            with_names(node.with_changes(module=module_node(new_module)), names)
            for new_module, names in groups.items()
        ]

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        body, footer = drop_removed(updated_node.body)
        emptied = not body  # the block held nothing but what went away
        if emptied:
            body = [cst.SimpleStatementLine(body=[cst.Pass()])]
        block = updated_node.with_changes(body=body, footer=[*footer, *updated_node.footer])
        if emptied:
            self.emptied.add(block)
        return block

    def leave_If(
        self, original_node: cst.If, updated_node: cst.If
    ) -> cst.BaseStatement | cst.RemovalSentinel:
        """``if __name__ == "__main__":`` that only applied deployments goes away whole."""
        emptied = updated_node.body in self.emptied and updated_node.orelse is None
        if emptied and _is_main_guard(original_node.test):
            return _removed_statement(updated_node)
        return updated_node

    def leave_For(
        self, original_node: cst.For, updated_node: cst.For
    ) -> cst.BaseStatement | cst.RemovalSentinel:
        """``for deployment in [...]: deployment.apply()`` goes away whole."""
        if updated_node.body in self.emptied and updated_node.orelse is None:
            return _removed_statement(updated_node)
        return updated_node


def _removed_statement(statement: cst.If | cst.For) -> cst.SimpleStatementLine:
    """A marked line carrying the statement's comments on to what follows."""
    line = cst.SimpleStatementLine(body=[cst.Pass()], leading_lines=statement.leading_lines)
    return removed(line)


def _is_main_guard(test: cst.BaseExpression) -> bool:
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    left, right = test.left, test.comparisons[0].comparator
    names = [n.value for n in (left, right) if isinstance(n, cst.Name)]
    strings = [n.evaluated_value for n in (left, right) if isinstance(n, cst.SimpleString)]
    return names == ["__name__"] and strings == ["__main__"]


def _targets(binding: Binding) -> list[tuple[str, str]]:
    """Where ``binding``'s name is imported from after the rewrite (possibly twice: the
    new class for the rewritten calls, the old one for uses left as they were)."""
    rule = binding.rule
    if binding.already_new:
        return [(binding.module, binding.name)]
    if rule.kind is Kind.SCHEDULE:  # calls become mappings; an unused import goes in pass 2
        return [(binding.module, binding.name)]
    if rule.kind is Kind.PULL_POLICY:
        left = binding.rewritten_uses < len(binding.uses)
        return [(FLOW_RUNNERS_MODULE, binding.name)] if left else []
    if not binding.renamed_at_each_use:
        return [(rule.new_module, rule.new_name)]
    targets = []
    if binding.rewritten_uses or not binding.uses:
        targets.append((rule.new_module, rule.new_name))
    if binding.rewritten_uses < len(binding.uses):
        old = FLOW_RUNNERS_MODULE if provided_by_flow_runners(binding.name) else binding.module
        targets.append((old, binding.name))
    return targets


# -- 3. merging imports, removing statements -------------------------------------------

#: Marks a statement line that a rewrite emptied; removed by its block (see drop_removed).
