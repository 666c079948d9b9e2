"""The rewrite itself, on libcst's concrete syntax tree, which keeps every comment,
blank line and bracket the author wrote.

1. ``_plan`` finds the imports of old names and, through libcst's scope analysis, every
   use of each imported name; it decides which uses are rewritten (calls of the old
   classes get the new class name, pull policy members become strings). A use that is
   not rewritten keeps its old name imported, and a note says where.
2. ``_Rewrite`` changes calls, keywords, attributes and import statements.
3. ``merge_imports`` folds the new imports into those already at the top of the file,
   so a file that mixed both syntaxes does not import one name twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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

from shipway.flow_runners import (
    DockerFlowRunner,
    KubernetesFlowRunner,
    docker_pull_policy,
    kubernetes_pull_policy,
)
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
from shipway.migrate._notes import Note
from shipway.migrate._rules import (
    DEPLOYMENT_FIELDS,
    FLOW_RUNNERS_MODULE,
    OLD_MODULES,
    Kind,
    Rule,
    deployment_keyword_note,
    path_fields,
    provided_by_flow_runners,
    rule_for,
)

__all__ = ["rewrite_module"]

_DEPLOYMENT_CLASSES = ("Deployment", "DeploymentSpec")
_RUNNER_CLASSES = ("SubprocessFlowRunner", "DockerFlowRunner", "KubernetesFlowRunner")


def rewrite_module(module: cst.Module) -> tuple[cst.Module, list[Note]]:
    """The module in the new syntax, and what needs a look by hand."""
    wrapper = MetadataWrapper(module)
    plan = _plan(wrapper)
    rewrite = _Rewrite(plan)
    rewritten = wrapper.module.visit(rewrite)
    rewritten = merge_imports(rewritten, rewrite.created)
    return rewritten, sorted(set(plan.notes))


# -- 1. the plan -----------------------------------------------------------------------


@dataclass(eq=False)
class _Binding:
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
class _Plan:
    positions: dict[cst.CSTNode, CodeRange]
    bindings: dict[cst.ImportAlias, _Binding] = field(default_factory=dict)
    binding_of_use: dict[cst.CSTNode, _Binding] = field(default_factory=dict)
    renamed: set[cst.CSTNode] = field(default_factory=set)
    converted: set[cst.CSTNode] = field(default_factory=set)
    notes: list[Note] = field(default_factory=list)
    quote: str = '"'  # for the strings the rewrite writes: the file's own preference

    def note(self, node: cst.CSTNode, message: str) -> None:
        position = self.positions.get(node)
        self.notes.append(Note(position.start.line if position else 0, message))


class _Survey(cst.CSTVisitor):
    """Every import statement, and which quote the file's strings prefer."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[cst.Import | cst.ImportFrom] = []
        self.quotes = {'"': 0, "'": 0}

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if node.quote in self.quotes:
            self.quotes[node.quote] += 1

    def visit_Import(self, node: cst.Import) -> None:
        self.found.append(node)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self.found.append(node)


def _plan(wrapper: MetadataWrapper) -> _Plan:
    scopes = wrapper.resolve(ScopeProvider)
    parents = wrapper.resolve(ParentNodeProvider)
    plan = _Plan(positions=dict(wrapper.resolve(PositionProvider)))
    survey = _Survey()
    wrapper.module.visit(survey)
    if survey.quotes["'"] > survey.quotes['"']:
        plan.quote = "'"
    for node in survey.found:
        if isinstance(node, cst.Import):
            _note_plain_import(plan, node)
        else:
            _bind(plan, node, scopes.get(node))

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


def _new_spelling(rule: Rule) -> str:
    if rule.kind is Kind.PULL_POLICY:
        return "the strings " + ", ".join(repr(v) for v in rule.policy.values())
    return f"{rule.new_name} from {rule.new_module}"


def _note_plain_import(plan: _Plan, node: cst.Import) -> None:
    for alias in node.names:
        name = dotted(alias.name)
        if name in OLD_MODULES:
            plan.note(
                node,
                f"import {name}: shipway migrate rewrites names imported with "
                "'from ... import ...' only; rewrite the uses of this module by hand "
                "(see docs/migrating-from-flow-runners.md)",
            )


def _bind(plan: _Plan, node: cst.ImportFrom, scope: Scope | None) -> None:
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
        binding = _Binding(rule, module, name, local)
        for assignment in scope.assignments[binding.local] if scope is not None else ():
            if isinstance(assignment, ImportAssignment) and assignment.node is node:
                binding.uses.extend(access.node for access in assignment.references)
        for use in binding.uses:
            plan.binding_of_use[use] = binding
        plan.bindings[alias] = binding


# -- 2. the rewrite --------------------------------------------------------------------


class _Rewrite(cst.CSTTransformer):
    def __init__(self, plan: _Plan) -> None:
        super().__init__()
        self.plan = plan
        self.created: list[cst.SimpleStatementLine] = []

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

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        func = original_node.func
        binding = self.plan.binding_of_use.get(func)
        if binding is not None and binding.rule.kind is Kind.RUNNER:
            return self._runner_call(original_node, updated_node, binding)
        if binding is not None and binding.rule.kind is Kind.DEPLOYMENT:
            return self._deployment_call(original_node, updated_node, binding)
        if isinstance(func, cst.Attribute) and func.attr.value in _DEPLOYMENT_CLASSES:
            return self._deployment_call(original_node, updated_node, None)
        if isinstance(func, cst.Attribute) and func.attr.value in _RUNNER_CLASSES:
            self.plan.note(
                original_node,
                f"{dotted(func) or func.attr.value}(...) is not rewritten: import "
                f"{func.attr.value} with 'from ... import' and run shipway migrate again, "
                "or rewrite it by hand",
            )
        return updated_node

    def _runner_call(self, original: cst.Call, updated: cst.Call, binding: _Binding) -> cst.Call:
        runner = binding.rule.runner
        assert runner is not None  # every RUNNER rule names its class
        keywords = {arg.keyword.value for arg in updated.args if arg.keyword}
        if runner is DockerFlowRunner and {"networks", "network_mode"} <= keywords:
            self.plan.note(
                original,
                "DockerContainer takes networks or network_mode, not both (network_mode "
                "replaces the container's networking): remove one of them",
            )
        args = []
        for arg in updated.args:
            keyword = arg.keyword.value if arg.keyword else None
            if arg.star == "**" and runner.renamed_fields:
                renames = ", ".join(f"{a} to {b}" for a, b in runner.renamed_fields.items())
                self.plan.note(
                    original,
                    f"keyword arguments passed to {binding.name} with ** are not rewritten: "
                    f"rename {renames} in them by hand",
                )
            if keyword is None:
                args.append(arg)
                continue
            if keyword not in runner.model_fields:
                self.plan.note(
                    original,
                    f"{binding.name} has no field {keyword!r} "
                    f"(it has: {', '.join(runner.model_fields)}): fix or remove it",
                )
            new_keyword = runner.renamed_fields.get(keyword, keyword)
            changes: dict[str, object] = {}
            if new_keyword != keyword:
                changes["keyword"] = cst.Name(new_keyword)
            if keyword == "image_pull_policy":
                value = self._pull_policy(original, arg.value, runner)
                if value is not arg.value:
                    changes["value"] = value
            elif keyword in path_fields(runner) and _builds_a_path(arg.value):
                # Process(conda_env=..., virtualenv=...) take strings, not Path objects.
                changes["value"] = cst.Call(func=cst.Name("str"), args=[cst.Arg(arg.value)])
            args.append(arg.with_changes(**changes) if changes else arg)
        return updated.with_changes(args=args)

    def _pull_policy(
        self, call: cst.Call, value: cst.BaseExpression, runner: type[object]
    ) -> cst.BaseExpression:
        """A string literal in the spelling the new field documents."""
        if not isinstance(value, cst.SimpleString):
            return value
        text = value.evaluated_value
        if not isinstance(text, str):
            return value
        if runner is DockerFlowRunner:
            spell = docker_pull_policy
        elif runner is KubernetesFlowRunner:
            spell = kubernetes_pull_policy
        else:
            return value
        try:
            new = spell(text)
        except ValueError:
            self.plan.note(call, f"image_pull_policy={text!r} is not an image pull policy")
            return value
        if new == text:
            return value
        return value.with_changes(value=f"{value.prefix}{value.quote}{new}{value.quote}")

    def _deployment_call(
        self, original: cst.Call, updated: cst.Call, binding: _Binding | None
    ) -> cst.Call:
        keywords = [arg.keyword.value for arg in updated.args if arg.keyword]
        if "flow_runner" in keywords and "infrastructure" in keywords:
            self.plan.note(
                original,
                "both flow_runner= and infrastructure= are given: remove flow_runner=, "
                "the deprecated spelling (not rewritten)",
            )
            return updated
        if binding is not None and not binding.already_new:
            for keyword in keywords:
                if keyword not in DEPLOYMENT_FIELDS and keyword != "flow_runner":
                    self.plan.note(original, deployment_keyword_note(keyword))
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
        if not body:  # the block held nothing but the import that went away
            body = [cst.SimpleStatementLine(body=[cst.Pass()])]
        return updated_node.with_changes(body=body, footer=[*footer, *updated_node.footer])


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


def _targets(binding: _Binding) -> list[tuple[str, str]]:
    """Where ``binding``'s name is imported from after the rewrite (possibly twice: the
    new class for the rewritten calls, the old one for uses left as they were)."""
    rule = binding.rule
    if binding.already_new:
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
