"""Start-up cost of the ``shipway`` command, against plain Python baselines.

Run it with the interpreter of the environment to measure:

    .venv/bin/python bench/startup.py [--runs N]

It uses that interpreter (``sys.executable``) and the ``shipway`` script installed
beside it, runs each command once to warm the file cache, then ``--runs`` times
(interleaved, so a burst of background load hits every command alike), and prints
the median, min and max wall time of each, and two ratios of medians:

- ``shipway --help`` / ``python -c pass``                    aim: <= 4x
- ``shipway run example`` / the bare call of the same flow   aim: <= 4x

``shipway run`` starts two interpreters (the CLI and the engine).
Standard library only, apart from the installed ``shipway`` being measured.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from _timing import Command, measure, print_table, ratio_line, shipway_script

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BARE_CALL = "from flows.hello import hello_world; hello_world()"
HELP_AIM = 4.0
RUN_AIM = 4.0


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

    measure(commands, args.runs)
    print_table(commands, args.runs)
    help_ratio = shipway_help.median / python_pass.median
    run_ratio = shipway_run.median / bare.median
    print(ratio_line("shipway --help / python -c pass", help_ratio, HELP_AIM))
    print(ratio_line("shipway run example / bare baseline", run_ratio, RUN_AIM))
    return 0


if __name__ == "__main__":
    sys.exit(main())
