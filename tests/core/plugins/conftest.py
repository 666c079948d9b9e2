"""Fixtures for the plugin runtime tests: a temporary site-packages folder on
``sys.path`` to install real plugin distributions into, and a fresh registry."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from plugin_site import SitePackages

from shipway.plugins import PluginPolicy, PluginRegistry, reset_registry
from shipway.plugins._policy import ALLOW_VAR, BLOCK_VAR, DISABLE_VAR, STRICT_VAR


@pytest.fixture(autouse=True)
def plugin_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No SHIPWAY_* policy leaks in from the developer's shell, and the process-wide
    registry is rebuilt for each test."""
    for var in (DISABLE_VAR, ALLOW_VAR, BLOCK_VAR, STRICT_VAR):
        monkeypatch.delenv(var, raising=False)
    reset_registry()
    yield
    reset_registry()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SitePackages]:
    root = tmp_path / "site-packages"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    packages = SitePackages(root)
    yield packages
    for name in packages.imported_modules():
        del sys.modules[name]


@pytest.fixture
def registry() -> PluginRegistry:
    """A fresh registry with the default (permissive, non-strict) policy and nothing
    registered in-process (unlike tests/core's fixture of the same name)."""
    return PluginRegistry(policy=PluginPolicy())
