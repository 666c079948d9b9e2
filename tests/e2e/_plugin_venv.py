"""A fresh virtual environment to install shipway and generated plugins into, so that
nothing is ever installed into the development environment running the tests."""

from __future__ import annotations

import os
import re
import subprocess
import venv
from pathlib import Path

import pytest

INSTALL_TIMEOUT = 900
COMMAND_TIMEOUT = 300

# pip's words for "the package index could not be reached" (offline machine, no proxy).
INDEX_UNREACHABLE = re.compile(
    r"NewConnectionError|Failed to establish a new connection|"
    r"Temporary failure in name resolution|Name or service not known|"
    r"Network is unreachable|ConnectTimeoutError|Connection refused|"
    r"ProxyError|Could not fetch URL|No matching distribution found for (hatchling|pluggy|"
    r"pydantic|anyio|PyYAML|click|rich|pytest|editables)",
    re.IGNORECASE,
)


class FreshVenv:
    """A virtual environment without system site-packages, and commands run in it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        venv.EnvBuilder(with_pip=True, clear=True).create(root)
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("SHIPWAY_") and k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
        }
        self.env.update(
            VIRTUAL_ENV=str(root),
            PATH=f"{root / 'bin'}{os.pathsep}{self.env.get('PATH', '')}",
            COLUMNS="250",
            NO_COLOR="1",
            PIP_DISABLE_PIP_VERSION_CHECK="1",
        )

    def bin(self, name: str) -> str:
        return str(self.root / "bin" / name)

    def run(
        self, *args: str, cwd: Path, timeout: float = COMMAND_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args),
            cwd=cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
        )

    def pip_install(self, *requirements: str, cwd: Path) -> None:
        """``pip install`` into this environment; skip the test if no index can be reached."""
        done = self.run(
            self.bin("python"),
            "-m",
            "pip",
            "install",
            *requirements,
            cwd=cwd,
            timeout=INSTALL_TIMEOUT,
        )
        skip_if_index_unreachable(done)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def skip_if_index_unreachable(done: subprocess.CompletedProcess[str]) -> None:
    if done.returncode != 0 and INDEX_UNREACHABLE.search(done.stdout + done.stderr):
        pytest.skip(
            "pip could not reach a package index to install dependencies:\n" + done.stderr[-2000:]
        )
