"""Start-up cost of the ``shipway`` command, against plain Python baselines.

Run it with the interpreter of the environment to measure:

    .venv/bin/python bench/startup.py [--runs N]

It uses that interpreter (``sys.executable``) and the ``shipway`` script installed
beside it, runs each command once to warm the file cache, then ``--runs`` times
(interleaved, so a burst of background load hits every command alike), and prints
the median, min and max wall time of each, and two ratios of medians:

- ``shipway --help`` / ``python -c pass``                    aim: <= 4x
- ``shipway run example`` / the bare call of the same flow   aim: <= 3x

``shipway run`` starts two interpreters (the CLI and the engine), hence its looser aim.
Standard library only, apart from the installed ``shipway`` being measured.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import subprocess
import sys
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BARE_CALL = "from flows.hello import hello_world; hello_world()"
HELP_AIM = 4.0
RUN_AIM = 3.0


@dataclasses.dataclass
class Command:
    label: str
    argv: list[str]
    cwd: Path | None = None
    seconds: list[float] = dataclasses.field(default_factory=list)

    def time_once(self) -> float:
        started = time.perf_counter()
        result = subprocess.run(
            self.argv,
            cwd=self.cwd,
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


def shipway_script() -> Path:
    script = Path(sys.executable).parent / "shipway"
    if not script.exists():
        sys.exit(
            f"no shipway script beside {sys.executable}. Run this with the interpreter of "
            "the environment where shipway is installed, e.g. .venv/bin/python bench/startup.py"
        )
    return script


def ratio_line(label: str, value: float, aim: float) -> str:
    verdict = "within aim" if value <= aim else "ABOVE aim"
    return f"{label:<42} {value:5.2f}x   (aim <= {aim:g}x: {verdict})"


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Time the start-up of shipway against plain Python."
    )
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command (default: 15)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    shipway = str(shipway_script())
    python = sys.executable
    python_pass = Command("python -c pass", [python, "-c", "pass"])
    shipway_help = Command("shipway --help", [shipway, "--help"])
    bare = Command("python -c <hello_world()> (bare)", [python, "-c", BARE_CALL], EXAMPLES)
    shipway_run = Command("shipway run example", [shipway, "run", "example"], EXAMPLES)
    commands = [python_pass, shipway_help, bare, shipway_run]

    for command in commands:  # warm-up, not counted
        command.time_once()
    for _ in range(args.runs):
        for command in commands:
            command.seconds.append(command.time_once())

    print(f"interpreter: {python} (Python {sys.version.split()[0]})")
    print(f"runs: {args.runs} per command, after one warm-up run each; wall time in ms")
    print()
    print(f"{'command':<34} {'median':>8} {'min':>8} {'max':>8}")
    for command in commands:
        print(
            f"{command.label:<34} {command.median * 1000:8.1f} "
            f"{min(command.seconds) * 1000:8.1f} {max(command.seconds) * 1000:8.1f}"
        )
    print()
    help_ratio = shipway_help.median / python_pass.median
    run_ratio = shipway_run.median / bare.median
    print(ratio_line("shipway --help / python -c pass", help_ratio, HELP_AIM))
    print(ratio_line("shipway run example / bare baseline", run_ratio, RUN_AIM))
    return 0


if __name__ == "__main__":
    sys.exit(main())
