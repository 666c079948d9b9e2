"""Drive the installed ``shipway`` console script in temporary project directories."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"

Shipway = Callable[..., "subprocess.CompletedProcess[str]"]
"""The ``shipway`` fixture: ``shipway(*args, cwd=..., env=...)``."""

# Generous: starting two interpreters on a loaded 2-core machine can take seconds.
TIMEOUT_SECONDS = 120


def shipway_executable() -> str:
    """The console script of the environment running the tests (``.venv/bin/shipway``)."""
    beside = Path(sys.executable).parent / "shipway"
    if beside.exists():
        return str(beside)
    found = shutil.which("shipway")
    if found is None:
        raise RuntimeError("the shipway console script is not installed in this environment")
    return found


def clean_environment(extra: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """This environment without SHIPWAY_* settings, with a wide terminal for rich tables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    env.pop("PYTHONPATH", None)
    env["COLUMNS"] = "250"
    env["NO_COLOR"] = "1"
    for key, value in (extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_shipway(
    *args: str,
    cwd: Path,
    env: Mapping[str, str | None] | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [shipway_executable(), *args],
        cwd=cwd,
        env=clean_environment(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
    )


def write_file(base: Path, relative: str, text: str) -> Path:
    path = base / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def make_broken_plugin(site: Path) -> Path:
    """A real (if tiny) installed distribution whose plugin module raises on import:
    a ``.dist-info`` with ``entry_points.txt`` and the module, in ``site``. Put ``site``
    on PYTHONPATH and ``importlib.metadata`` finds it like any installed plugin."""
    write_file(site, "broken_plugin.py", 'raise RuntimeError("broken on purpose")\n')
    info = site / "broken_plugin-0.1.dist-info"
    write_file(info, "METADATA", "Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    write_file(info, "entry_points.txt", "[shipway.infrastructure]\nbroken = broken_plugin\n")
    return site
