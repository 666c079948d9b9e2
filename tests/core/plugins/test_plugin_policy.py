"""Allow list, block list and the kill switch, read from the environment."""

from __future__ import annotations

import pytest
from plugin_site import SitePackages, infrastructure_source

from shipway.plugins import (
    PluginBlockedError,
    PluginCollisionError,
    PluginInfo,
    PluginPolicy,
    PluginRegistry,
    PluginStatus,
    get_registry,
)

BROKEN_MODULE = """
raise RuntimeError("this plugin is broken on purpose")
"""


@pytest.fixture
def installed(site: SitePackages) -> SitePackages:
    """A healthy plugin, a broken one, and a healthy one from a differently named dist."""
    site.install_infrastructure("acme-sandbox", "sandbox", "acme_sandbox_plugin")
    site.install(
        "acme-broken",
        "0.1",
        modules={"acme_broken_plugin": BROKEN_MODULE},
        infrastructure={"broken": "acme_broken_plugin"},
    )
    site.install_infrastructure("Other_Vendor.Plugins", "other", "other_vendor_plugin", "4.0")
    return site


def status_of(infos: list[PluginInfo], name: str) -> tuple[PluginStatus, str | None]:
    [row] = [info for info in infos if info.name == name]
    return row.status, row.error


# -- reading the environment -----------------------------------------------------------


def test_an_empty_environment_allows_everything() -> None:
    policy = PluginPolicy.from_environment({})

    assert policy == PluginPolicy()
    assert (policy.disabled, policy.allow, policy.block, policy.strict) == (
        False,
        None,
        frozenset(),
        False,
    )


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", " on ", "Yes"])
def test_switches_accept_the_usual_spellings_of_true(value: str) -> None:
    policy = PluginPolicy.from_environment(
        {"SHIPWAY_DISABLE_PLUGINS": value, "SHIPWAY_PLUGINS_STRICT": value}
    )

    assert policy.disabled
    assert policy.strict


@pytest.mark.parametrize("value", ["", "0", "false", "no", "off", "nonsense"])
def test_switches_are_off_for_anything_else(value: str) -> None:
    policy = PluginPolicy.from_environment(
        {"SHIPWAY_DISABLE_PLUGINS": value, "SHIPWAY_PLUGINS_STRICT": value}
    )

    assert not policy.disabled
    assert not policy.strict


def test_lists_are_comma_separated_trimmed_and_normalized() -> None:
    policy = PluginPolicy.from_environment(
        {
            "SHIPWAY_PLUGINS_ALLOW": " sandbox, Acme_Other ,,",
            "SHIPWAY_PLUGINS_BLOCK": "Docker-Container,other.vendor",
        }
    )

    assert policy.allow == frozenset({"sandbox", "acme-other"})
    assert policy.block == frozenset({"docker-container", "other-vendor"})


def test_an_empty_allow_list_means_no_allow_list() -> None:
    assert PluginPolicy.from_environment({"SHIPWAY_PLUGINS_ALLOW": " , "}).allow is None


def test_without_a_mapping_the_process_environment_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHIPWAY_PLUGINS_BLOCK", "sandbox")
    monkeypatch.setenv("SHIPWAY_PLUGINS_STRICT", "1")

    policy = PluginPolicy.from_environment()

    assert policy.block == frozenset({"sandbox"})
    assert policy.strict
    assert PluginRegistry().policy == policy  # a registry without a policy reads it too


# -- block list ------------------------------------------------------------------------


def test_blocking_a_type_name_stops_it_resolving_and_importing(installed: SitePackages) -> None:
    registry = PluginRegistry(PluginPolicy.from_environment({"SHIPWAY_PLUGINS_BLOCK": "sandbox"}))

    with pytest.raises(PluginBlockedError) as excinfo:
        registry.resolve("sandbox")

    message = str(excinfo.value)
    assert "'sandbox'" in message
    assert "acme-sandbox 1.0" in message
    assert "blocked by SHIPWAY_PLUGINS_BLOCK" in message
    assert "acme_sandbox_plugin" not in installed.imported_modules()
    assert registry.resolve("other").type_name() == "other"


def test_blocking_a_distribution_blocks_its_plugins(installed: SitePackages) -> None:
    registry = PluginRegistry(
        PluginPolicy.from_environment({"SHIPWAY_PLUGINS_BLOCK": "acme-broken"})
    )

    infos = registry.list_plugins()

    assert status_of(infos, "broken") == (PluginStatus.BLOCKED, "blocked by SHIPWAY_PLUGINS_BLOCK")
    assert status_of(infos, "sandbox") == (PluginStatus.LOADED, None)
    assert "acme_broken_plugin" not in installed.imported_modules()
    with pytest.raises(PluginBlockedError):
        registry.resolve("broken")


def test_distribution_names_match_however_they_are_spelled(installed: SitePackages) -> None:
    """``Other_Vendor.Plugins`` (its metadata) is blocked by ``other-vendor-plugins``."""
    registry = PluginRegistry(
        PluginPolicy.from_environment({"SHIPWAY_PLUGINS_BLOCK": "other-vendor-plugins"})
    )

    assert status_of(registry.list_plugins(), "other")[0] is PluginStatus.BLOCKED


def test_a_blocked_plugin_is_not_strict_modes_failure(installed: SitePackages) -> None:
    policy = PluginPolicy.from_environment(
        {"SHIPWAY_PLUGINS_BLOCK": "broken", "SHIPWAY_PLUGINS_STRICT": "1"}
    )

    infos = PluginRegistry(policy).list_plugins()

    assert status_of(infos, "broken")[0] is PluginStatus.BLOCKED


def test_blocking_one_of_two_claimants_resolves_the_collision(site: SitePackages) -> None:
    """The collision error suggests exactly this, so it has to work."""
    site.install_infrastructure("acme-one", "sandbox", "acme_one_plugin", version="1.0")
    site.install_infrastructure("other-two", "sandbox", "other_two_plugin", version="2.5")
    with pytest.raises(PluginCollisionError) as excinfo:
        PluginRegistry(PluginPolicy()).resolve("sandbox")
    assert "SHIPWAY_PLUGINS_BLOCK=<distribution>" in str(excinfo.value)

    policy = PluginPolicy.from_environment({"SHIPWAY_PLUGINS_BLOCK": "other-two"})
    registry = PluginRegistry(policy)

    assert registry.resolve("sandbox").__module__ == "acme_one_plugin"
    rows = [info for info in registry.list_plugins() if info.name == "sandbox"]
    assert [(row.distribution, row.status) for row in rows] == [
        ("acme-one", PluginStatus.LOADED),
        ("other-two", PluginStatus.BLOCKED),
    ]


def test_blocking_every_claimant_of_a_name_reports_it_blocked_not_colliding(
    site: SitePackages,
) -> None:
    site.install_infrastructure("acme-one", "sandbox", "acme_one_plugin", version="1.0")
    site.install_infrastructure("other-two", "sandbox", "other_two_plugin", version="2.5")
    policy = PluginPolicy.from_environment({"SHIPWAY_PLUGINS_BLOCK": "sandbox"})

    with pytest.raises(PluginBlockedError) as excinfo:
        PluginRegistry(policy).resolve("sandbox")

    assert "infrastructure 'sandbox' (acme-one 1.0" in excinfo.value.message
    assert "blocked by SHIPWAY_PLUGINS_BLOCK" in excinfo.value.message
    assert not site.imported_modules()


# -- allow list ------------------------------------------------------------------------


def test_an_allow_list_blocks_everything_not_on_it(installed: SitePackages) -> None:
    registry = PluginRegistry(PluginPolicy.from_environment({"SHIPWAY_PLUGINS_ALLOW": "sandbox"}))

    infos = registry.list_plugins()

    assert status_of(infos, "sandbox") == (PluginStatus.LOADED, None)
    assert status_of(infos, "broken") == (PluginStatus.BLOCKED, "not in SHIPWAY_PLUGINS_ALLOW")
    assert status_of(infos, "other")[0] is PluginStatus.BLOCKED
    with pytest.raises(PluginBlockedError, match="not in SHIPWAY_PLUGINS_ALLOW"):
        registry.resolve("other")
    assert installed.imported_modules() == {"acme_sandbox_plugin"}


def test_an_allow_list_may_name_distributions(installed: SitePackages) -> None:
    registry = PluginRegistry(
        PluginPolicy.from_environment({"SHIPWAY_PLUGINS_ALLOW": "other_vendor.plugins"})
    )

    assert registry.resolve("other").type_name() == "other"
    with pytest.raises(PluginBlockedError):
        registry.resolve("sandbox")


def test_the_block_list_wins_over_the_allow_list(installed: SitePackages) -> None:
    policy = PluginPolicy.from_environment(
        {"SHIPWAY_PLUGINS_ALLOW": "sandbox,other", "SHIPWAY_PLUGINS_BLOCK": "acme-sandbox"}
    )

    with pytest.raises(PluginBlockedError, match="blocked by SHIPWAY_PLUGINS_BLOCK"):
        PluginRegistry(policy).resolve("sandbox")


# -- kill switch -----------------------------------------------------------------------


def test_the_kill_switch_loads_no_plugin_at_all(installed: SitePackages) -> None:
    registry = PluginRegistry(PluginPolicy.from_environment({"SHIPWAY_DISABLE_PLUGINS": "1"}))

    with pytest.raises(PluginBlockedError) as excinfo:
        registry.resolve("sandbox")
    infos = registry.list_plugins()

    assert "disabled by SHIPWAY_DISABLE_PLUGINS" in str(excinfo.value)
    assert "Unset SHIPWAY_DISABLE_PLUGINS" in str(excinfo.value)
    for name in ("sandbox", "broken", "other"):
        assert status_of(infos, name) == (
            PluginStatus.BLOCKED,
            "all plugins are disabled by SHIPWAY_DISABLE_PLUGINS",
        )
    assert all(info.status is PluginStatus.BLOCKED for info in infos)
    assert installed.imported_modules() == set()


def test_the_kill_switch_still_lets_in_process_plugins_register(site: SitePackages) -> None:
    """It disables discovery, not the API that embedding code and tests use."""
    site.install("acme-helpers", modules={"acme_inline": infrastructure_source("inline")})
    import acme_inline  # type: ignore[import-not-found]  # written by the fixture

    registry = PluginRegistry(PluginPolicy(disabled=True))
    registry.register(acme_inline, name="inline")

    assert registry.resolve("inline") is acme_inline.Sandbox


def test_the_process_wide_registry_follows_the_environment(
    installed: SitePackages, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPWAY_DISABLE_PLUGINS", "true")

    with pytest.raises(PluginBlockedError):
        get_registry().resolve("sandbox")
