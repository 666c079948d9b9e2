"""What the benchmarks share: timing a command over repeated runs, and the report."""

from __future__ import annotations

import dataclasses
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path


def child_environment() -> dict[str, str]:
    """This environment, but letting Python write bytecode caches, as after a normal
    ``pip install``: some shells set PYTHONDONTWRITEBYTECODE, and then every run would
    recompile the modules changed since the last install and measure the compiler."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def shipway_script() -> Path:
    """The ``shipway`` script installed beside this interpreter (what is measured)."""
    script = Path(sys.executable).parent / "shipway"
    if not script.exists():
        sys.exit(
            f"no shipway script beside {sys.executable}. Run this with the interpreter of "
            "the environment where shipway is installed, e.g. .venv/bin/python bench/startup.py"
        )
    return script


@dataclasses.dataclass
class Command:
    label: str
    argv: list[str]
    cwd: Path | None = None
    seconds: list[float] = dataclasses.field(default_factory=list)
    extra_env: dict[str, str] = dataclasses.field(default_factory=dict)

    def time_once(self) -> float:
        started = time.perf_counter()
        result = subprocess.run(
            self.argv,
            cwd=self.cwd,
            env={**child_environment(), **self.extra_env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            stderr = result.stderr.decode(errors="replace").strip()
            sys.exit(f"{self.label!r} exited with status {result.returncode}:\n{stderr}")
        return elapsed

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def measure(commands: Sequence[Command], runs: int) -> None:
    """One warm-up run each (fills caches, writes bytecode), then ``runs`` interleaved
    rounds, so a burst of background load hits every command alike."""
    for command in commands:
        command.time_once()
    for _ in range(runs):
        for command in commands:
            command.seconds.append(command.time_once())


def print_table(commands: Sequence[Command], runs: int) -> None:
    width = max(len(command.label) for command in commands) + 2
    print(f"interpreter: {sys.executable} (Python {sys.version.split()[0]})")
    print(f"runs: {runs} per command, after one warm-up run each; wall time in ms")
    print()
    print(f"{'command':<{width}} {'median':>8} {'min':>8} {'max':>8}")
    for command in commands:
        print(
            f"{command.label:<{width}} {command.median * 1000:8.1f} "
            f"{min(command.seconds) * 1000:8.1f} {max(command.seconds) * 1000:8.1f}"
        )
    print()


def ratio_line(label: str, value: float, aim: float) -> str:
    verdict = "within aim" if value <= aim else "ABOVE aim"
    return f"{label:<42} {value:5.2f}x   (aim <= {aim:g}x: {verdict})"
