"""``shipway --help`` (and, for reference, ``shipway run``) with hundreds of unrelated
distributions installed: commands must not read every distribution's metadata when
they do not need to.

Run it with the interpreter of the environment to measure:

    .venv/bin/python bench/many_distributions.py [--distributions 300] [--runs 15]

It writes ``--distributions`` installed-looking distributions (a ``.dist-info`` folder
each, with ``METADATA``, ``RECORD`` and ``entry_points.txt`` declaring console scripts and
a plugin group of their own, as real packages do) into a temporary folder, and times
each command with and without that folder on ``PYTHONPATH`` (which is how Python finds
the distributions of a virtual environment's site-packages too), interleaved.

Aim: ``shipway --help`` with them within 10% of without. ``shipway run`` loads its
infrastructure plugin through entry points, so it reads every distribution's
``entry_points.txt`` once (once per process, whatever the number of lookups):
reported, with no aim.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from _timing import Command, measure, print_table, shipway_script

AIM = 1.10
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def write_distributions(folder: Path, count: int) -> None:
    for n in range(count):
        name = f"unrelated_package_{n:03d}"
        info = folder / f"{name}-1.{n}.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: 1.{n}.0\n"
            f"Summary: An unrelated package\nRequires-Dist: requests\n"
        )
        (info / "entry_points.txt").write_text(
            f"[console_scripts]\n{name.replace('_', '-')} = {name}.cli:main\n\n"
            f"[{name}.plugins]\ndefault = {name}.plugins:default\n"
        )
        (info / "RECORD").write_text(f"{name}/__init__.py,,\n{info.name}/METADATA,,\n")
        (info / "INSTALLER").write_text("pip\n")
        (folder / name).mkdir()
        (folder / name / "__init__.py").write_text("")


def main() -> int:
    parser = argparse.ArgumentParser(description="Time shipway with many distributions.")
    parser.add_argument("--distributions", type=int, default=300, help="(default: 300)")
    parser.add_argument("--runs", type=int, default=15, help="timed runs each (default: 15)")
    args = parser.parse_args()
    if min(args.distributions, args.runs) < 1:
        parser.error("--distributions and --runs must be at least 1")
    shipway = shipway_script()

    with tempfile.TemporaryDirectory(prefix="shipway-bench-") as temporary:
        folder = Path(temporary)
        write_distributions(folder, args.distributions)
        crowded = {"PYTHONPATH": str(folder)}
        many = f"({args.distributions} distributions)"
        help_plain = Command("shipway --help", [str(shipway), "--help"])
        help_many = Command(f"shipway --help {many}", [str(shipway), "--help"],
                            extra_env=crowded)
        run_plain = Command("shipway run example", [str(shipway), "run", "example"], EXAMPLES)
        run_many = Command(f"shipway run example {many}", [str(shipway), "run", "example"],
                           EXAMPLES, extra_env=crowded)
        commands = [help_plain, help_many, run_plain, run_many]
        measure(commands, args.runs)
    print_table(commands, args.runs)
    for plain, crowded_command, aim in ((help_plain, help_many, AIM), (run_plain, run_many, None)):
        ratio = crowded_command.median / plain.median
        target = f"aim <= {aim:.2f}x: {'within aim' if ratio <= aim else 'ABOVE aim'}" if aim \
            else "no aim"
        print(f"{crowded_command.label + ' / without':<58} {ratio:5.2f}x   ({target})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
