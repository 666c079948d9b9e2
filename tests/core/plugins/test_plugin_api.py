"""The public surface plugin authors build on: the hook specs, the Infrastructure base
class's checks, the ``__all__`` lists, and plugin classes importable by name."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from types import ModuleType
from typing import Literal

import pytest
from plugin_site import SitePackages

import shipway
import shipway.hookspecs
import shipway.infrastructure
import shipway.plugins
from shipway._markers import PROJECT_NAME
from shipway.infrastructure import Infrastructure, InfrastructureResult, Job
from shipway.plugins import (
    FIRST_PARTY_PLUGINS,
    INFRASTRUCTURE_GROUP,
    PluginNotInstalled,
    find_plugin_sources,
)

# -- hook specs ------------------------------------------------------------------------


def hook_specs() -> dict[str, object]:
    return {
        name: function
        for name, function in vars(shipway.hookspecs).items()
        if inspect.isfunction(function) and hasattr(function, f"{PROJECT_NAME}_spec")
    }


def test_every_hook_spec_name_starts_with_shipway() -> None:
    specs = hook_specs()

    assert {
        "shipway_infrastructure_types",
        "shipway_job_submitting",
        "shipway_flow_run_state_changed",
    } <= set(specs)
    assert [name for name in specs if not name.startswith("shipway_")] == []


def test_every_function_in_the_hookspecs_module_is_a_spec() -> None:
    """A helper without ``@hookspec`` would silently not be a hook."""
    functions = {
        name
        for name, value in vars(shipway.hookspecs).items()
        if inspect.isfunction(value) and value.__module__ == "shipway.hookspecs"
    }

    assert functions == set(hook_specs())


def test_every_hook_spec_is_documented() -> None:
    for name, function in hook_specs().items():
        assert inspect.getdoc(function), f"{name} has no docstring"


# -- the Infrastructure base class -----------------------------------------------------


class _Runs:
    """The three contract methods, so test subclasses are concrete."""

    async def run(self, job: Job, task_status: object = None) -> InfrastructureResult:
        return InfrastructureResult(identifier="nowhere:0", status_code=0)

    async def kill(self, identifier: str, grace_seconds: int = 30) -> None:
        return None

    def preview(self, job: Job | None = None) -> str:
        return ""


def test_a_subclass_without_a_type_default_is_rejected_at_class_creation() -> None:
    with pytest.raises(TypeError) as excinfo:

        class NoType(_Runs, Infrastructure):
            image: str = "python"

    message = str(excinfo.value)
    assert "NoType" in message
    assert "must give 'type' a default" in message
    assert "type: Literal['my-platform'] = 'my-platform'" in message  # shows how


def test_an_empty_type_default_is_rejected_too() -> None:
    with pytest.raises(TypeError, match="must give 'type' a default"):

        class EmptyType(_Runs, Infrastructure):
            type: str = ""


def test_an_abstract_intermediate_base_class_needs_no_type() -> None:
    """Plugin families may share a base class; only concrete classes need a name."""

    class PlatformBase(Infrastructure):
        region: str = "eu"

    class Concrete(_Runs, PlatformBase):
        type: Literal["concrete"] = "concrete"

    assert Concrete().region == "eu"
    assert Concrete.type_name() == "concrete"


# -- __all__ ---------------------------------------------------------------------------


def public_names(module: ModuleType) -> set[str]:
    """What a module defines or re-exports from shipway at top level (also under
    ``if TYPE_CHECKING:``, where lazily loaded names are declared), ignoring imports of
    helpers from elsewhere (``typing.Any``, ``importlib``) and private names."""
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    names: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.If):
                visit(node.body)
            elif isinstance(node, ast.ImportFrom):
                if node.level or (node.module or "").startswith("shipway"):
                    names.update(alias.asname or alias.name for alias in node.names)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Assign):  # `TYPE_CHECKING = False`: typing's, for less
                names.update(
                    t.id
                    for t in node.targets
                    if isinstance(t, ast.Name) and t.id != "TYPE_CHECKING"
                )
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)

    visit(tree.body)
    return {name for name in names if not name.startswith("_") or name == "__version__"}


def isort_style(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: CONSTANTS, then Classes, then everything else."""
    if re.fullmatch(r"[A-Z0-9_]+", name) and re.search("[A-Z]", name):
        return (0, name)
    if name[0].isupper():
        return (1, name)
    return (2, name)


@pytest.mark.parametrize(
    "module", [shipway, shipway.infrastructure, shipway.plugins], ids=lambda m: m.__name__
)
def test_all_lists_exactly_the_public_names_sorted(module: ModuleType) -> None:
    exported = list(module.__all__)

    assert set(exported) == public_names(module)
    assert exported == sorted(exported, key=isort_style)
    assert len(exported) == len(set(exported))
    for name in exported:
        assert getattr(module, name) is not None, name  # lazy names resolve too


def test_lazy_top_level_names_are_listed_by_dir() -> None:
    assert set(shipway.__all__) <= set(dir(shipway))


def test_an_unknown_top_level_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = shipway.nope  # type: ignore[attr-defined]


# -- plugin classes imported by name ---------------------------------------------------


def test_a_first_party_class_whose_plugin_is_absent_names_the_package_to_install() -> None:
    if find_plugin_sources(INFRASTRUCTURE_GROUP, "docker-container"):
        pytest.skip("shipway-docker is installed here")

    with pytest.raises(ImportError) as excinfo:
        from shipway.infrastructure import DockerContainer  # noqa: F401

    assert isinstance(excinfo.value, PluginNotInstalled)
    assert "pip install shipway-docker" in str(excinfo.value)
    assert excinfo.value.name == "DockerContainer"


@pytest.mark.parametrize(
    ("type_name", "distribution", "class_name"),
    [(t, d, c) for t, (d, c) in FIRST_PARTY_PLUGINS.items()],
)
def test_every_first_party_class_name_explains_itself_when_missing(
    type_name: str, distribution: str, class_name: str
) -> None:
    if find_plugin_sources(INFRASTRUCTURE_GROUP, type_name):
        pytest.skip(f"{distribution} is installed here")

    with pytest.raises(PluginNotInstalled, match=f"pip install {distribution}"):
        getattr(shipway.infrastructure, class_name)


def test_an_unknown_class_name_is_an_import_error() -> None:
    with pytest.raises(ImportError) as excinfo:
        from shipway.infrastructure import NoSuchInfrastructure  # noqa: F401

    assert "NoSuchInfrastructure" in str(excinfo.value)
    assert "`shipway plugins`" in str(excinfo.value)


def test_a_third_party_class_is_importable_by_its_class_name(site: SitePackages) -> None:
    site.install_infrastructure("acme-sandbox", "sandbox", "acme_sandbox_plugin")

    from shipway.infrastructure import Sandbox  # type: ignore[attr-defined]

    assert Sandbox is importlib.import_module("acme_sandbox_plugin").Sandbox


def test_dunder_lookups_do_not_touch_the_registry() -> None:
    """``copy``, ``pickle`` and friends probe dunder names; they must get AttributeError."""
    with pytest.raises(AttributeError):
        _ = shipway.infrastructure.__wrapped__


#: Imported by modules of optional features only: libcst by `shipway migrate` (shipway[migrate]).
# What the extras bring (shipway[migrate], shipway[server]); the core installs without.
OPTIONAL_DEPENDENCIES = frozenset({"libcst", "starlette", "uvicorn", "jinja2", "multipart"})


def test_no_module_attribute_shadows_a_submodule() -> None:
    """``import shipway.plugins._registry`` (and ``mock.patch`` paths through it) must
    reach the module, not a global that happens to share its name."""
    shipway.plugins.get_registry()  # globals set on first use count too
    for package in walk_packages():
        for info in pkgutil.iter_modules(package.__path__):
            if info.name == "__main__":
                continue
            try:
                submodule = importlib.import_module(f"{package.__name__}.{info.name}")
            except ModuleNotFoundError as exc:
                if exc.name in OPTIONAL_DEPENDENCIES:  # the core installed without an extra
                    continue
                raise
            assert getattr(package, info.name) is submodule, f"{package.__name__}.{info.name}"


def walk_packages() -> list[ModuleType]:
    packages = [shipway]
    for info in pkgutil.walk_packages(shipway.__path__, "shipway."):
        if info.ispkg:
            try:
                packages.append(importlib.import_module(info.name))
            except ModuleNotFoundError as exc:
                if exc.name not in OPTIONAL_DEPENDENCIES:  # the core without an extra
                    raise
    return packages
