"""Resolving an infrastructure type name through real, temporarily installed plugins."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import types

import pytest
from plugin_site import SitePackages, infrastructure_source

from shipway.infrastructure import Infrastructure
from shipway.plugins import (
    INFRASTRUCTURE_GROUP,
    PluginCollisionError,
    PluginLoadError,
    PluginRegistry,
    UnknownInfrastructureType,
    find_plugin_sources,
)

BROKEN_MODULE = """
raise RuntimeError("this plugin is broken on purpose")
"""


def install_good_and_broken(site: SitePackages) -> None:
    site.install_infrastructure("acme-sandbox", "sandbox", "acme_sandbox_plugin", version="1.2.3")
    site.install(
        "acme-broken",
        "0.1",
        modules={"acme_broken_plugin": BROKEN_MODULE},
        infrastructure={"broken": "acme_broken_plugin"},
    )


def first_party_installed(type_name: str) -> bool:
    return bool(find_plugin_sources(INFRASTRUCTURE_GROUP, type_name))


# -- lazy resolution -------------------------------------------------------------------


def test_hook_shipway_infrastructure_types(site: SitePackages, registry: PluginRegistry) -> None:
    """The class an installed plugin's hook returns is what its entry point's name
    resolves to, loaded once and cached."""
    site.install_infrastructure("acme-sandbox", "sandbox", "acme_sandbox_plugin")

    cls = registry.resolve("sandbox")

    assert issubclass(cls, Infrastructure)
    assert cls.__module__ == "acme_sandbox_plugin"
    assert cls.type_name() == "sandbox"
    assert cls().type == "sandbox"
    assert registry.resolve("sandbox") is cls  # cached, not reloaded
    assert registry.infrastructure_types() == {"sandbox": cls}


def test_resolve_loads_only_the_named_entry_point(
    site: SitePackages, registry: PluginRegistry
) -> None:
    install_good_and_broken(site)

    registry.resolve("sandbox")

    assert "acme_sandbox_plugin" in sys.modules
    assert "acme_broken_plugin" not in sys.modules
    assert site.imported_modules() == {"acme_sandbox_plugin"}


def test_resolving_imports_no_other_plugin_in_a_fresh_interpreter(site: SitePackages) -> None:
    """Start-up stays fast: whatever else is installed (shipway-process in the dev venv)
    is not imported when one type name is resolved."""
    install_good_and_broken(site)
    script = textwrap.dedent(
        """
        import sys
        from shipway.plugins import PluginPolicy, PluginRegistry

        before = set(sys.modules)
        PluginRegistry(PluginPolicy()).resolve("sandbox")
        print("\\n".join(sorted(set(sys.modules) - before)))
        """
    )
    pythonpath = [str(site.root), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(pythonpath)}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    newly_imported = set(result.stdout.split())
    assert "acme_sandbox_plugin" in newly_imported
    assert "acme_broken_plugin" not in newly_imported
    assert not {name for name in newly_imported if name.startswith("shipway_")}


def test_resolving_a_broken_plugin_names_it_and_its_distribution(
    site: SitePackages, registry: PluginRegistry
) -> None:
    install_good_and_broken(site)

    with pytest.raises(PluginLoadError) as excinfo:
        registry.resolve("broken")

    message = str(excinfo.value)
    assert "'broken'" in message
    assert "acme-broken 0.1" in message
    assert "acme_broken_plugin" in message
    assert "RuntimeError: this plugin is broken on purpose" in message
    assert excinfo.value.reason == "RuntimeError: this plugin is broken on purpose"
    # ...and the healthy plugin still resolves afterwards.
    assert registry.resolve("sandbox").type_name() == "sandbox"


def test_one_module_may_provide_several_type_names(
    site: SitePackages, registry: PluginRegistry
) -> None:
    extra = """
    class Other(Sandbox):
        type: Literal["sandbox-two"] = "sandbox-two"

    @hookimpl(specname="shipway_infrastructure_types")
    def _more_types():
        return [Other]
    """
    site.install(
        "acme-multi",
        modules={"acme_multi_plugin": infrastructure_source("sandbox-one", extra=extra)},
        infrastructure={"sandbox-one": "acme_multi_plugin", "sandbox-two": "acme_multi_plugin"},
    )

    one = registry.resolve("sandbox-one")
    two = registry.resolve("sandbox-two")

    assert (one.__name__, two.__name__) == ("Sandbox", "Other")
    registered = [plugin for _, plugin in registry.plugins()]
    assert registered.count(sys.modules["acme_multi_plugin"]) == 1


# -- two distributions, one name -------------------------------------------------------


def test_two_distributions_claiming_one_name_is_an_error_naming_both(
    site: SitePackages, registry: PluginRegistry
) -> None:
    site.install_infrastructure("acme-one", "sandbox", "acme_one_plugin", version="1.0")
    site.install_infrastructure("other-two", "sandbox", "other_two_plugin", version="2.5")

    with pytest.raises(PluginCollisionError) as excinfo:
        registry.resolve("sandbox")

    message = str(excinfo.value)
    assert "'sandbox'" in message
    assert "acme-one 1.0" in message
    assert "other-two 2.5" in message
    assert "SHIPWAY_PLUGINS_BLOCK" in message  # says how to get out of it
    assert excinfo.value.claimants == ["acme-one 1.0", "other-two 2.5"]
    # Neither was imported: the collision is decided from metadata alone.
    assert site.imported_modules() == set()


def test_a_class_claiming_a_name_already_registered_is_a_collision(
    site: SitePackages, registry: PluginRegistry
) -> None:
    """A plugin's hook may return a class for a type name another plugin already holds."""
    site.install_infrastructure("acme-sandbox", "sandbox", "acme_sandbox_plugin")
    source = """
    from typing import Literal

    from shipway import hookimpl
    from acme_sandbox_plugin import Sandbox

    class Impostor(Sandbox):
        type: Literal["impostor"] = "impostor"

    class Squatter(Sandbox):
        type: Literal["sandbox"] = "sandbox"

    @hookimpl
    def shipway_infrastructure_types():
        return [Impostor, Squatter]
    """
    site.install(
        "acme-impostor",
        "3.0",
        modules={"acme_impostor_plugin": source},
        infrastructure={"impostor": "acme_impostor_plugin"},
    )
    registry.resolve("sandbox")

    with pytest.raises(PluginCollisionError) as excinfo:
        registry.resolve("impostor")

    message = str(excinfo.value)
    assert "acme-sandbox 1.0" in message
    assert "acme-impostor 3.0" in message
    assert registry.resolve("sandbox").__module__ == "acme_sandbox_plugin"
    # The rejected plugin leaves nothing behind, not even its non-colliding class.
    assert set(registry.infrastructure_types()) == {"sandbox"}
    assert all(
        plugin is not sys.modules["acme_impostor_plugin"] for _, plugin in registry.plugins()
    )


# -- unknown names ---------------------------------------------------------------------


def test_an_unknown_name_lists_the_installed_ones(
    site: SitePackages, registry: PluginRegistry
) -> None:
    install_good_and_broken(site)

    with pytest.raises(UnknownInfrastructureType) as excinfo:
        registry.resolve("sandbx")

    error = excinfo.value
    assert {"sandbox", "broken"} <= set(error.installed)
    assert error.installed == sorted(error.installed)
    assert "unknown infrastructure 'sandbx'" in str(error)
    assert "Installed infrastructure types:" in str(error)
    assert "sandbox" in str(error)
    assert "`shipway plugins`" in str(error)
    assert site.imported_modules() == set()  # listing names imports nothing


@pytest.mark.parametrize(
    ("type_name", "package"),
    [("docker-container", "shipway-docker"), ("kubernetes-job", "shipway-kubernetes")],
)
def test_an_unknown_first_party_name_says_what_to_install(
    registry: PluginRegistry, type_name: str, package: str
) -> None:
    if first_party_installed(type_name):
        pytest.skip(f"{package} is installed here")

    with pytest.raises(UnknownInfrastructureType) as excinfo:
        registry.resolve(type_name)

    assert f"pip install {package}" in str(excinfo.value)
    assert excinfo.value.hint is not None and package in excinfo.value.hint


def test_the_unknown_name_message_mentions_blocks_from_the_file() -> None:
    error = UnknownInfrastructureType("clustr", ["process"], blocks=["cluster", "local-debug"])

    assert "Infrastructure blocks defined in the file: cluster, local-debug." in str(error)
    assert "Installed infrastructure types: process." in str(error)


def test_the_unknown_name_message_says_when_nothing_is_installed() -> None:
    error = UnknownInfrastructureType("process", [])

    assert "No infrastructure plugin is installed." in str(error)
    assert "pip install shipway-process" in str(error)


# -- plugins that load but do not keep the contract -------------------------------------


def test_a_misspelled_decorated_hook_fails_loading_loudly(
    site: SitePackages, registry: PluginRegistry
) -> None:
    extra = """
    @hookimpl
    def shipway_infrastructure_type():  # the "s" is missing
        return [Sandbox]
    """
    site.install(
        "acme-typo",
        "0.3",
        modules={"acme_typo_plugin": infrastructure_source("typo", extra=extra)},
        infrastructure={"typo": "acme_typo_plugin"},
    )

    with pytest.raises(PluginLoadError) as excinfo:
        registry.resolve("typo")

    message = str(excinfo.value)
    assert "plugin 'typo' (acme-typo 0.3, module acme_typo_plugin) failed to load" in message
    assert "PluginValidationError" in message
    assert "shipway_infrastructure_type" in message
    # The half-registered plugin is gone again, so it cannot break later loads.
    assert all(plugin is not sys.modules["acme_typo_plugin"] for _, plugin in registry.plugins())
    assert "typo" not in registry.infrastructure_types()


def test_a_misspelled_undecorated_hook_fails_loading_loudly_too(
    site: SitePackages, registry: PluginRegistry
) -> None:
    """Forgetting @hookimpl on a typo'd ``shipway_*`` function must not pass silently."""
    extra = """
    def shipway_typo(job):
        pass
    """
    site.install(
        "acme-typo",
        modules={"acme_typo_plugin": infrastructure_source("typo", extra=extra)},
        infrastructure={"typo": "acme_typo_plugin"},
    )
    site.install_infrastructure("acme-sandbox", "sandbox", "acme_sandbox_plugin")

    with pytest.raises(PluginLoadError) as excinfo:
        registry.resolve("typo")

    assert "plugin 'typo' (acme-typo 1.0, module acme_typo_plugin)" in str(excinfo.value)
    assert "shipway_typo" in str(excinfo.value)
    # A later, healthy plugin is not blamed for the earlier one's typo.
    assert registry.resolve("sandbox").type_name() == "sandbox"


def test_a_hook_asking_for_an_argument_the_spec_lacks_fails_loading(
    site: SitePackages, registry: PluginRegistry
) -> None:
    extra = """
    @hookimpl
    def shipway_flow_run_state_changed(job, state, colour):
        pass
    """
    site.install(
        "acme-args",
        modules={"acme_args_plugin": infrastructure_source("args", extra=extra)},
        infrastructure={"args": "acme_args_plugin"},
    )

    with pytest.raises(PluginLoadError) as excinfo:
        registry.resolve("args")

    assert "colour" in str(excinfo.value)
    assert "acme-args 1.0" in str(excinfo.value)


def hook_returning(value: str, helpers: str = "") -> str:
    return f"""
from shipway import hookimpl
{textwrap.dedent(helpers)}

@hookimpl
def shipway_infrastructure_types():
    return {value}
"""


@pytest.mark.parametrize(
    ("returned", "helpers"),
    [
        ("[dict]", ""),
        ("[Sandbox()]", "from acme_helper_classes import Sandbox"),
        ('["sandbox"]', ""),
    ],
    ids=["a-class-that-is-not-infrastructure", "an-instance", "a-string"],
)
def test_a_hook_returning_something_that_is_not_an_infrastructure_class_fails(
    site: SitePackages, registry: PluginRegistry, returned: str, helpers: str
) -> None:
    site.install(
        "acme-helpers",
        modules={"acme_helper_classes": infrastructure_source("helper-only")},
    )
    site.install(
        "acme-wrong",
        "2.0",
        modules={"acme_wrong_plugin": hook_returning(returned, helpers)},
        infrastructure={"sandbox": "acme_wrong_plugin"},
    )

    with pytest.raises(PluginLoadError) as excinfo:
        registry.resolve("sandbox")

    assert "acme-wrong 2.0" in str(excinfo.value)
    assert "is not an Infrastructure subclass" in excinfo.value.reason
    assert "shipway_infrastructure_types returned" in excinfo.value.reason


def test_a_plugin_without_a_class_for_its_entry_point_name_fails(
    site: SitePackages, registry: PluginRegistry
) -> None:
    site.install(
        "acme-mismatch",
        modules={"acme_mismatch_plugin": infrastructure_source("sand-box")},
        infrastructure={"sandbox": "acme_mismatch_plugin"},
    )

    with pytest.raises(PluginLoadError) as excinfo:
        registry.resolve("sandbox")

    reason = excinfo.value.reason
    assert "returned no class with type 'sandbox'" in reason
    assert "(it returned: sand-box)" in reason


def test_a_plugin_whose_hook_returns_nothing_fails(
    site: SitePackages, registry: PluginRegistry
) -> None:
    site.install(
        "acme-empty",
        modules={"acme_empty_plugin": hook_returning("None")},
        infrastructure={"sandbox": "acme_empty_plugin"},
    )

    with pytest.raises(PluginLoadError) as excinfo:
        registry.resolve("sandbox")

    assert "returned no class with type 'sandbox'" in excinfo.value.reason


def test_a_plugin_whose_hook_raises_fails_with_the_exception(
    site: SitePackages, registry: PluginRegistry
) -> None:
    source = """
    from shipway import hookimpl

    @hookimpl
    def shipway_infrastructure_types():
        raise LookupError("no SDK found")
    """
    site.install(
        "acme-raises",
        modules={"acme_raises_plugin": source},
        infrastructure={"sandbox": "acme_raises_plugin"},
    )

    with pytest.raises(PluginLoadError) as excinfo:
        registry.resolve("sandbox")

    assert excinfo.value.reason == "LookupError: no SDK found"
    assert isinstance(excinfo.value.__cause__, LookupError)


def test_an_entry_point_naming_a_missing_module_fails(
    site: SitePackages, registry: PluginRegistry
) -> None:
    site.install("acme-ghost", modules={}, infrastructure={"ghost": "acme_ghost_plugin"})

    with pytest.raises(PluginLoadError) as excinfo:
        registry.resolve("ghost")

    assert "ModuleNotFoundError" in excinfo.value.reason
    assert "acme_ghost_plugin" in excinfo.value.reason


# -- in-process registration -----------------------------------------------------------


def test_register_adds_a_plugin_object_without_entry_points(
    site: SitePackages, registry: PluginRegistry
) -> None:
    site.install("acme-helpers", modules={"acme_inline": infrastructure_source("inline")})
    import acme_inline  # type: ignore[import-not-found]  # written by the fixture

    registry.register(acme_inline, name="inline-plugin")

    assert registry.resolve("inline") is acme_inline.Sandbox


# -- "did you mean" ------------------------------------------------------------------------


def test_a_misspelled_type_name_suggests_the_close_one() -> None:
    error = UnknownInfrastructureType("shh", ["process", "ssh"], blocks=["cluster"])

    assert "unknown infrastructure 'shh'. Did you mean 'ssh'?" in error.message


def test_a_name_close_to_none_suggests_nothing() -> None:
    error = UnknownInfrastructureType("zzzz", ["process", "ssh"])

    assert "Did you mean" not in error.message


def test_a_misspelled_hook_name_suggests_the_hook() -> None:
    registry = PluginRegistry()
    plugin = types.ModuleType("typo_plugin")
    exec("def shipway_job_submiting(job):\n    return None\n", plugin.__dict__)

    with pytest.raises(PluginLoadError) as caught:
        registry.register(plugin, "typo")

    assert (
        "'shipway_job_submiting' is not a shipway hook. Did you mean 'shipway_job_submitting'?"
        in caught.value.message
    )
