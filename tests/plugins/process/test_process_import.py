"""The seed's import path works through the registry, like any third-party plugin's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import shipway_process
from shipway.plugins import PluginPolicy, PluginRegistry, PluginStatus, reset_registry


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in (
        "SHIPWAY_DISABLE_PLUGINS",
        "SHIPWAY_PLUGINS_ALLOW",
        "SHIPWAY_PLUGINS_BLOCK",
        "SHIPWAY_PLUGINS_STRICT",
    ):
        monkeypatch.delenv(var, raising=False)
    reset_registry()
    yield
    reset_registry()


@pytest.mark.usefixtures("fresh_registry")
def test_process_imports_from_shipway_infrastructure() -> None:
    from shipway.infrastructure import Process

    assert Process is shipway_process.Process
    assert Process.type_name() == "process"
    # Found through its entry point, exactly as shipway-docker or a third party would be.
    registry = PluginRegistry(PluginPolicy())
    assert registry.resolve("process") is Process
    [row] = [info for info in registry.list_plugins() if info.name == "process"]
    assert (row.distribution, row.module, row.status) == (
        "shipway-process",
        "shipway_process.plugin",
        PluginStatus.LOADED,
    )
    assert row.version == shipway_process.__version__
