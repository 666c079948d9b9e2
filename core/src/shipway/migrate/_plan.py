"""Step 1 of the rewrite: find the imports of old names and, through libcst's scope
analysis, every use of each imported name; decide which uses are rewritten (calls of the
old classes get the new class name, pull policy members become strings) and which calls
create Prefect deployments. A use that is not rewritten keeps its old name imported, and
a note says where."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
from libcst.metadata import (
    CodeRange,
    ImportAssignment,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    Scope,
    ScopeProvider,
)

from shipway.migrate._imports import dotted, module_of
from shipway.migrate._notes import Note
from shipway.migrate._rules import (
    FLOW_RUNNERS_MODULE,
    OLD_MODULES,
    Kind,
    Rule,
    provided_by_flow_runners,
    rule_for,
)

__all__ = ["Binding", "Plan", "make_plan"]


@dataclass(eq=False)
class Binding:
    """A name bound by ``from MODULE import NAME [as ALIAS]`` that a rule covers."""

    rule: Rule
    module: str
    name: str
    alias: str | None
    uses: list[cst.CSTNode] = field(default_factory=list)
    rewritten_uses: int = 0

    @property
    def local(self) -> str:
        """The name the import binds in the module."""
        return self.alias or self.name

    @property
    def renamed_at_each_use(self) -> bool:
        """``SubprocessFlowRunner(...)`` becomes ``Process(...)``; an aliased import
        (``... as Runner``) changes the import alone, and a moved name (``flow``)
        keeps its spelling."""
        return self.alias is None and self.rule.new_name != self.name

    @property
    def already_new(self) -> bool:
        return self.module == self.rule.new_module


@dataclass
class Plan:
    positions: dict[cst.CSTNode, CodeRange]
    bindings: dict[cst.ImportAlias, Binding] = field(default_factory=dict)
    binding_of_use: dict[cst.CSTNode, Binding] = field(default_factory=dict)
    renamed: set[cst.CSTNode] = field(default_factory=set)
    converted: set[cst.CSTNode] = field(default_factory=set)
    notes: list[Note] = field(default_factory=list)
    quote: str = '"'  # for the strings the rewrite writes: the file's own preference
    directory: Path | None = None
    deployment_calls: set[cst.Call] = field(default_factory=set)
    """Calls that create a Prefect deployment (their ``.apply()`` goes away)."""
    block_calls: set[cst.Call] = field(default_factory=set)
    """Calls that build a Prefect infrastructure block (their ``.save()`` goes away)."""
    block_variables: set[str] = field(default_factory=set)

    def note(self, node: cst.CSTNode, message: str) -> None:
        position = self.positions.get(node)
        self.notes.append(Note(position.start.line if position else 0, message))


class _Survey(cst.CSTVisitor):
    """Every import statement, and which quote the file's strings prefer."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[cst.Import | cst.ImportFrom] = []
        self.calls: list[cst.Call] = []
        self.assigns: list[cst.Assign] = []
        self.quotes = {'"': 0, "'": 0}

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if node.quote in self.quotes:
            self.quotes[node.quote] += 1

    def visit_Import(self, node: cst.Import) -> None:
        self.found.append(node)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self.found.append(node)

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)

    def visit_Assign(self, node: cst.Assign) -> None:
        self.assigns.append(node)


def make_plan(wrapper: MetadataWrapper) -> Plan:
    scopes = wrapper.resolve(ScopeProvider)
    parents = wrapper.resolve(ParentNodeProvider)
    plan = Plan(positions=dict(wrapper.resolve(PositionProvider)))
    survey = _Survey()
    wrapper.module.visit(survey)
    if survey.quotes["'"] > survey.quotes['"']:
        plan.quote = "'"
    for node in survey.found:
        if isinstance(node, cst.Import):
            _note_plain_import(plan, node)
        else:
            _bind(plan, node, scopes.get(node))

    _find_deployments(plan, survey)
    for use, binding in plan.binding_of_use.items():
        parent = parents.get(use)
        if binding.rule.kind is Kind.PULL_POLICY:
            if (
                isinstance(parent, cst.Attribute)
                and parent.value is use
                and parent.attr.value in binding.rule.policy
            ):
                plan.converted.add(use)
                binding.rewritten_uses += 1
        elif binding.renamed_at_each_use and isinstance(parent, cst.Call) and parent.func is use:
            plan.renamed.add(use)
            binding.rewritten_uses += 1

    for binding in plan.bindings.values():
        left = [use for use in binding.uses if use not in plan.renamed | plan.converted]
        policy = binding.rule.kind is Kind.PULL_POLICY
        if left and (binding.renamed_at_each_use or policy):
            source = (
                FLOW_RUNNERS_MODULE if provided_by_flow_runners(binding.name) else (binding.module)
            )
            rewritten = f"as {binding.name}.MEMBER" if policy else "by calling it"
            plan.note(
                left[0],
                f"{binding.name} is used here other than {rewritten}, so it stays "
                f"imported from {source}; replace this use by hand "
                f"(the new spelling: {_new_spelling(binding.rule)})",
            )
    return plan


def _find_deployments(plan: Plan, survey: _Survey) -> None:
    for call in survey.calls:
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value == "build_from_flow":
            func = func.value
        binding = plan.binding_of_use.get(func)
        if binding is not None and binding.rule.kind is Kind.DEPLOYMENT and not binding.already_new:
            plan.deployment_calls.add(call)
        if binding is not None and binding.rule.kind is Kind.INFRASTRUCTURE:
            plan.block_calls.add(call)
    for assign in survey.assigns:
        if assign.value in plan.block_calls:
            plan.block_variables.update(
                t.target.value for t in assign.targets if isinstance(t.target, cst.Name)
            )


def _new_spelling(rule: Rule) -> str:
    if rule.kind is Kind.PULL_POLICY:
        return "the strings " + ", ".join(repr(v) for v in rule.policy.values())
    return f"{rule.new_name} from {rule.new_module}"


def _note_plain_import(plan: Plan, node: cst.Import) -> None:
    for alias in node.names:
        name = dotted(alias.name)
        if name in OLD_MODULES:
            plan.note(
                node,
                f"import {name}: shipway migrate rewrites names imported with "
                "'from ... import ...' only; rewrite the uses of this module by hand "
                "(see docs/migrating-from-flow-runners.md)",
            )


def _bind(plan: Plan, node: cst.ImportFrom, scope: Scope | None) -> None:
    module = module_of(node)
    if module is None:
        return
    if isinstance(node.names, cst.ImportStar):
        if module in OLD_MODULES:
            plan.note(
                node,
                f"from {module} import *: import the names you use one by one, "
                "so that shipway migrate can rewrite them",
            )
        return
    for alias in node.names:
        name = dotted(alias.name)
        rule = rule_for(module, name) if name else None
        if rule is None or name is None:
            continue
        asname = alias.asname.name if alias.asname else None
        local = asname.value if isinstance(asname, cst.Name) else None
        binding = Binding(rule, module, name, local)
        for assignment in scope.assignments[binding.local] if scope is not None else ():
            if isinstance(assignment, ImportAssignment) and assignment.node is node:
                binding.uses.extend(access.node for access in assignment.references)
        for use in binding.uses:
            plan.binding_of_use[use] = binding
        plan.bindings[alias] = binding
