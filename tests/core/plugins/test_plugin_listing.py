"""``PluginRegistry.list_plugins``: load everything, report each failure beside the
healthy plugins (what ``shipway plugins`` prints)."""

from __future__ import annotations

import pytest
from plugin_site import SitePackages

from shipway.plugins import (
    PluginCollisionError,
    PluginInfo,
    PluginLoadError,
    PluginPolicy,
    PluginRegistry,
    PluginStatus,
)

BROKEN_MODULE = """
raise RuntimeError("this plugin is broken on purpose")
"""


def rows_by_name(infos: list[PluginInfo]) -> dict[str, list[PluginInfo]]:
    """Rows for the test's own plugins (whatever else is installed is ignored)."""
    rows: dict[str, list[PluginInfo]] = {}
    for info in infos:
        rows.setdefault(info.name, []).append(info)
    return rows


def install_good_and_broken(site: SitePackages) -> None:
    site.install_infrastructure("acme-sandbox", "sandbox", "acme_sandbox_plugin", version="1.2.3")
    site.install(
        "acme-broken",
        "0.1",
        modules={"acme_broken_plugin": BROKEN_MODULE},
        infrastructure={"broken": "acme_broken_plugin"},
    )


def test_listing_reports_a_broken_plugin_beside_the_healthy_one(
    site: SitePackages, registry: PluginRegistry
) -> None:
    install_good_and_broken(site)

    rows = rows_by_name(registry.list_plugins())

    [good] = rows["sandbox"]
    assert good == PluginInfo(
        name="sandbox",
        kind="infrastructure",
        distribution="acme-sandbox",
        version="1.2.3",
        module="acme_sandbox_plugin",
        status=PluginStatus.LOADED,
        error=None,
        hooks=("shipway_infrastructure_types",),
        class_name="Sandbox",
    )
    [broken] = rows["broken"]
    assert broken.status is PluginStatus.FAILED
    assert broken.error == "RuntimeError: this plugin is broken on purpose"
    assert (broken.distribution, broken.version, broken.module) == (
        "acme-broken",
        "0.1",
        "acme_broken_plugin",
    )
    assert broken.hooks == ()
    # Listing loaded the healthy plugin for real: it now resolves without another import.
    assert registry.infrastructure_types()["sandbox"].__module__ == "acme_sandbox_plugin"


def test_listing_is_sorted_by_name_and_loads_every_plugin(
    site: SitePackages, registry: PluginRegistry
) -> None:
    install_good_and_broken(site)
    site.install_infrastructure("acme-alpha", "alpha", "acme_alpha_plugin")

    infos = registry.list_plugins()

    infrastructure_names = [info.name for info in infos if info.kind == "infrastructure"]
    assert infrastructure_names == sorted(infrastructure_names)
    assert {"alpha", "sandbox"} <= set(registry.infrastructure_types())
    assert {"acme_alpha_plugin", "acme_sandbox_plugin"} <= site.imported_modules()


def test_listing_twice_gives_the_same_rows(site: SitePackages, registry: PluginRegistry) -> None:
    install_good_and_broken(site)

    assert registry.list_plugins() == registry.list_plugins()


def test_strict_listing_raises_the_first_failure(site: SitePackages) -> None:
    install_good_and_broken(site)
    strict = PluginRegistry(policy=PluginPolicy(strict=True))

    with pytest.raises(PluginLoadError) as excinfo:
        strict.list_plugins()

    assert "acme-broken 0.1" in str(excinfo.value)
    assert excinfo.value.reason == "RuntimeError: this plugin is broken on purpose"


def test_a_collision_is_a_failed_row_for_each_distribution(
    site: SitePackages, registry: PluginRegistry
) -> None:
    site.install_infrastructure("acme-one", "sandbox", "acme_one_plugin", version="1.0")
    site.install_infrastructure("other-two", "sandbox", "other_two_plugin", version="2.5")
    site.install_infrastructure("acme-alpha", "alpha", "acme_alpha_plugin")

    rows = rows_by_name(registry.list_plugins())

    claimants = rows["sandbox"]
    assert [(row.distribution, row.version) for row in claimants] == [
        ("acme-one", "1.0"),
        ("other-two", "2.5"),
    ]
    for row in claimants:
        assert row.status is PluginStatus.FAILED
        assert row.error is not None
        assert "acme-one 1.0" in row.error
        assert "other-two 2.5" in row.error
    assert rows["alpha"][0].status is PluginStatus.LOADED


def test_strict_listing_raises_on_a_collision(site: SitePackages) -> None:
    site.install_infrastructure("acme-one", "sandbox", "acme_one_plugin")
    site.install_infrastructure("other-two", "sandbox", "other_two_plugin")

    with pytest.raises(PluginCollisionError):
        PluginRegistry(policy=PluginPolicy(strict=True)).list_plugins()


def test_a_misspelled_hook_is_a_failed_row_naming_the_hook(
    site: SitePackages, registry: PluginRegistry
) -> None:
    site.install(
        "acme-typo",
        modules={
            "acme_typo_plugin": """
            from shipway import hookimpl

            @hookimpl
            def shipway_infrastucture_types():
                return []
            """
        },
        infrastructure={"typo": "acme_typo_plugin"},
    )

    [row] = rows_by_name(registry.list_plugins())["typo"]

    assert row.status is PluginStatus.FAILED
    assert row.error is not None
    assert row.error.startswith("PluginValidationError: ")
    assert "shipway_infrastucture_types" in row.error


def test_a_row_converts_to_json_ready_data(site: SitePackages, registry: PluginRegistry) -> None:
    install_good_and_broken(site)

    rows = rows_by_name(registry.list_plugins())

    assert rows["sandbox"][0].to_dict() == {
        "name": "sandbox",
        "kind": "infrastructure",
        "distribution": "acme-sandbox",
        "version": "1.2.3",
        "module": "acme_sandbox_plugin",
        "status": "loaded",
        "error": None,
        "hooks": ["shipway_infrastructure_types"],
        "class_name": "Sandbox",
    }
    assert rows["broken"][0].to_dict()["status"] == "failed"
    assert str(PluginStatus.BLOCKED) == "blocked"
