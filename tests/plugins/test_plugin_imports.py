"""Plugins import the core only through the modules made for them.

``shipway``, ``shipway.infrastructure``, ``shipway.storage``, ``shipway.jobs`` and
``shipway.testing`` are the plugin author's API; everything else (``shipway.engine``,
``shipway.plugins``...) may change without notice. The first-party plugins, the template
that ``shipway plugin new`` copies and the tutorial's plugin are what authors read, so
they hold to it too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PLUGIN_API = {
    "shipway",
    "shipway.infrastructure",
    "shipway.jobs",
    "shipway.storage",
    "shipway.testing",
}
PLUGIN_SOURCES = [
    *sorted(REPO.glob("plugins/*/src/**/*.py")),
    *sorted(REPO.glob("core/src/shipway/plugin_template/src/**/*.py.tmpl")),
    *sorted(REPO.glob("docs/tutorial/code/*/src/**/*.py")),
]
_SHIPWAY_IMPORT = re.compile(
    r"^\s*(?:from\s+(shipway(?:\.\w+)*)\s+import\b|import\s+(shipway(?:\.\w+)*)\b)", re.M
)


def imported_shipway_modules(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    return {m.group(1) or m.group(2) for m in _SHIPWAY_IMPORT.finditer(text)}


def test_the_sources_are_found() -> None:
    names = {path.name for path in PLUGIN_SOURCES}
    assert {"_process.py", "_container.py", "_job.py", "_infrastructure.py.tmpl"} <= names
    assert "sandbox.py" in names


@pytest.mark.parametrize("path", PLUGIN_SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_plugins_import_only_the_plugin_api(path: Path) -> None:
    outside = sorted(imported_shipway_modules(path) - PLUGIN_API)

    assert not outside, (
        f"{path.relative_to(REPO)} imports {', '.join(outside)}: a plugin imports only "
        f"{', '.join(sorted(PLUGIN_API))}. Re-export what it needs from shipway.infrastructure."
    )


def test_the_rule_catches_an_engine_import(tmp_path: Path) -> None:
    module = tmp_path / "plugin.py"
    module.write_text(
        "from shipway.infrastructure import Job\n"
        "def f():\n    import shipway.engine\n    from shipway.plugins import get_registry\n",
        encoding="utf-8",
    )

    assert imported_shipway_modules(module) - PLUGIN_API == {"shipway.engine", "shipway.plugins"}
