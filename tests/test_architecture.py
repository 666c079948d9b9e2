"""The layers of docs/architecture.md, enforced: every import in core/src (lazy ones inside
functions and type-checking ones included) points down or sideways, never up, and the core
imports no plugin. That plugins import only the plugin API is checked in
tests/plugins/test_plugin_imports.py.

The checks read the source with ``ast``, so an import that only runs in some branch is seen
as well as one at the top of a module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "core" / "src"

# Top to bottom. A module may import its own layer and the layers below it.
LAYERS: dict[str, tuple[str, ...]] = {
    "interfaces": ("shipway.cli", "shipway.server", "shipway._launcher", "shipway._help_page"),
    "orchestration": (
        "shipway.agent",
        "shipway.store",
        "shipway.runner",
        "shipway.runs",
        "shipway.attempt",
        "shipway.liveness",
        "shipway.testing",
        "shipway.migrate",
        "shipway.scaffold",
    ),
    # `shipway` itself is the users' façade: it re-exports flow, Deployment and hookimpl.
    "deployments": ("shipway.deployments", "shipway.schedules", "shipway.flow_runners", "shipway"),
    "contracts": (
        "shipway.infrastructure",
        "shipway.storage",
        # `python -m shipway.engine`: composes the storage pull with the engine below it.
        "shipway.engine.__main__",
        "shipway.plugins",
        "shipway.hookspecs",
        "shipway.states",
    ),
    "engine": ("shipway.engine",),
    "foundations": (
        "shipway.jobs",
        "shipway.flows",
        "shipway.entrypoints",
        "shipway.errors",
        "shipway.exit_status",
        "shipway.names",
        "shipway.environment",
        "shipway.secrets",
        "shipway.pulled_code",
        "shipway._selected_by_name",
        "shipway._first_party",
        "shipway._markers",
        "shipway._version",
        "shipway.tasks",
        "shipway.run_logger",
        "shipway.log_lines",
        "shipway._run_context",
        "shipway._task_pool",
        "shipway._retries",
        "shipway._timeouts",
        "shipway._prefect_options",
        "shipway._tracebacks",
    ),
}
RANK = {
    package: rank for rank, packages in enumerate(reversed(LAYERS.values())) for package in packages
}
LAYER_OF_RANK = dict(enumerate(reversed(LAYERS)))

FIRST_PARTY_PLUGINS = (
    "shipway_process",
    "shipway_docker",
    "shipway_kubernetes",
    "shipway_git",
    "shipway_fsspec",
)


def _module_name(path: Path, source_root: Path) -> str:
    parts = path.relative_to(source_root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str) -> Iterator[tuple[int, str]]:
    return _imports_in(
        path.read_text(encoding="utf-8"), module, is_package=path.name == "__init__.py"
    )


def _imports_in(source: str, module: str, *, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import statement, wherever it stands."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base == "shipway":
                # `from shipway import hookspecs` names a module; `__version__` lives in _version.
                for alias in node.names:
                    name = "_version" if alias.name == "__version__" else alias.name
                    if (CORE / "shipway" / name).is_dir() or (
                        CORE / "shipway" / f"{name}.py"
                    ).is_file():
                        yield node.lineno, f"shipway.{name}"
                    else:
                        yield node.lineno, "shipway"
            else:
                yield node.lineno, base


def _owner(module: str) -> str | None:
    """The entry of LAYERS that ``module`` belongs to (its longest matching prefix; the
    façade ``shipway`` owns only itself)."""
    matches = [p for p in RANK if module == p or (p != "shipway" and module.startswith(p + "."))]
    return max(matches, key=len) if matches else None


def _core_modules() -> list[tuple[Path, str]]:
    return [(path, _module_name(path, CORE)) for path in sorted(CORE.rglob("*.py"))]


def test_every_core_module_has_a_layer() -> None:
    unplaced = [module for _, module in _core_modules() if _owner(module) is None]
    assert not unplaced, f"add these to LAYERS in {Path(__file__).name}: {unplaced}"


def test_imports_point_down() -> None:
    upward = []
    for path, module in _core_modules():
        owner = _owner(module)
        assert owner is not None
        for line, imported in _imports(path, module):
            target = _owner(imported)
            if target is None or target == owner:
                continue
            if RANK[target] > RANK[owner]:
                upward.append(
                    f"{path.relative_to(ROOT)}:{line}: {module} ({LAYER_OF_RANK[RANK[owner]]}) "
                    f"imports {imported} ({LAYER_OF_RANK[RANK[target]]})"
                )
    assert not upward, "imports that point up a layer:\n" + "\n".join(upward)


def test_deployments_do_not_import_the_store() -> None:
    offending = [
        f"{path.relative_to(ROOT)}:{line}"
        for path, module in _core_modules()
        if module.startswith("shipway.deployments") or module == "shipway.schedules"
        for line, imported in _imports(path, module)
        if imported == "shipway.store" or imported.startswith("shipway.store.")
    ]
    assert not offending


def test_the_core_imports_no_plugin() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {imported}"
        for path, module in _core_modules()
        for line, imported in _imports(path, module)
        if imported.split(".")[0] in FIRST_PARTY_PLUGINS
    ]
    assert not found


def test_the_checker_sees_an_upward_import() -> None:
    """The rule itself can fail: a lazy upward import inside a function is reported."""
    source = "def f():\n    from shipway.store import Store\n    from . import _model\n"
    found = list(_imports_in(source, "shipway.deployments._probe", is_package=False))
    assert found == [(2, "shipway.store"), (3, "shipway.deployments")]
    assert RANK[_owner("shipway.store") or ""] > RANK[_owner("shipway.deployments._probe") or ""]
    assert _owner("shipway.unplaced_module") is None  # a new module must be given a layer
