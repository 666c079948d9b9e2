"""Real plugin distributions, written into a temporary directory put on ``sys.path``.

Nothing here patches the loader: each distribution is a ``<name>-<version>.dist-info``
folder with ``METADATA`` and ``entry_points.txt`` beside its plugin module, exactly what
``pip install`` leaves behind, and ``importlib.metadata`` finds it the ordinary way.

(A module of its own rather than ``conftest``: several conftest modules share that
name, so test modules import these helpers from here.)
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

from shipway.plugins import INFRASTRUCTURE_GROUP, OBSERVER_GROUP


def infrastructure_source(type_name: str, class_name: str = "Sandbox", extra: str = "") -> str:
    """A plugin module providing one tiny but real Infrastructure whose run() starts nothing."""
    return f"""
from __future__ import annotations

from typing import Literal

from shipway import hookimpl
from shipway.infrastructure import Infrastructure, InfrastructureResult


class {class_name}(Infrastructure):
    type: Literal[{type_name!r}] = {type_name!r}

    async def run(self, job, task_status=None):
        return InfrastructureResult(identifier="nowhere:0", status_code=0)

    async def kill(self, identifier, grace_seconds=30):
        return None

    def preview(self, job=None):
        return "nothing to run"


@hookimpl
def shipway_infrastructure_types():
    return [{class_name}]
{textwrap.dedent(extra)}
"""


class SitePackages:
    """A ``site-packages``-like folder that plugin distributions are installed into."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def install(
        self,
        distribution: str,
        version: str = "1.0",
        *,
        modules: Mapping[str, str],
        infrastructure: Mapping[str, str] | None = None,
        observers: Mapping[str, str] | None = None,
    ) -> None:
        """Write ``distribution`` with its plugin ``modules`` (name -> source) and entry
        points (entry point name -> module) in the infrastructure and observer groups."""
        for module, source in modules.items():
            (self.root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        dist_info = self.root / f"{distribution.replace('-', '_')}-{version}.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n",
            encoding="utf-8",
        )
        sections = []
        for group, entries in ((INFRASTRUCTURE_GROUP, infrastructure), (OBSERVER_GROUP, observers)):
            if entries:
                lines = "".join(f"{name} = {module}\n" for name, module in entries.items())
                sections.append(f"[{group}]\n{lines}")
        (dist_info / "entry_points.txt").write_text("\n".join(sections), encoding="utf-8")
        # The folder is already on sys.path: make the import system look at it afresh.
        importlib.invalidate_caches()

    def install_infrastructure(
        self, distribution: str, type_name: str, module: str, version: str = "1.0"
    ) -> None:
        """The common case: one distribution, one type name, one healthy plugin module."""
        self.install(
            distribution,
            version,
            modules={module: infrastructure_source(type_name)},
            infrastructure={type_name: module},
        )

    def imported_modules(self) -> set[str]:
        """Modules currently imported from this folder."""
        return {
            name
            for name, module in list(sys.modules.items())
            if (getattr(module, "__file__", None) or "").startswith(str(self.root))
        }
