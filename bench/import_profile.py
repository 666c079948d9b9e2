"""Where start-up goes: ``python -X importtime`` of the two processes of ``shipway run``
(the CLI and the engine it starts), summed by top-level package.

Run it with the interpreter of the environment to measure:

    .venv/bin/python bench/import_profile.py [--runs 5]

Each process is started ``--runs`` times after one warm-up (bytecode written); for each
top-level package the median over the runs of the sum of its modules' own import time
is printed, largest first, with the number of modules, then the process's total.
``-X importtime`` adds its own overhead: compare the packages with each other, and use
bench/startup.py for wall times.

- CLI: ``shipway run example`` in ``examples/`` (the engine is its child: not counted);
- engine: ``python -m shipway.engine`` with the job ``shipway run example`` hands over
  (the examples' ``hello_world``, no typed parameters).
"""

from __future__ import annotations

import argparse
import collections
import statistics
import subprocess
import sys
from pathlib import Path

from _timing import child_environment

from shipway.jobs import JOB_ENV_VAR, Job

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CLI = ["-c", "import sys; from shipway._launcher import main; main(sys.argv[1:])", "run",
       "example"]
ENGINE = ["-m", "shipway.engine"]
SHOWN = 14


def profile(argv: list[str], env: dict[str, str]) -> tuple[dict[str, int], dict[str, int]]:
    """Microseconds of own import time, and modules, per top-level package."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *argv], cwd=EXAMPLES, env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, check=False,
    )
    if result.returncode != 0:
        sys.exit(f"{argv} exited {result.returncode}:\n{result.stderr}")
    own: dict[str, int] = collections.Counter()
    modules: dict[str, int] = collections.Counter()
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = line.removeprefix("import time:").split("|")
        package = name.strip().partition(".")[0]
        own[package] += int(self_us)
        modules[package] += 1
    return own, modules


def report(label: str, argv: list[str], env: dict[str, str], runs: int) -> None:
    profile(argv, env)  # warm-up
    samples = [profile(argv, env) for _ in range(runs)]
    packages = {name for own, _ in samples for name in own}
    median = {name: statistics.median(own.get(name, 0) for own, _ in samples)
              for name in packages}
    modules = samples[-1][1]
    print(f"{label}: {sum(modules.values())} modules, "
          f"{sum(median.values()) / 1000:.1f} ms of imports (median of {runs})")
    for name in sorted(packages, key=median.__getitem__, reverse=True)[:SHOWN]:
        print(f"  {name:<22} {median[name] / 1000:7.1f} ms  {modules.get(name, 0):4d} modules")
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description="Import-time profile of shipway run.")
    parser.add_argument("--runs", type=int, default=5, help="profiles each (default: 5)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    env = child_environment()
    report("CLI (shipway run example)", CLI, env, args.runs)
    job = Job(entrypoint="flows/hello.py:hello_world", parameters={}, working_dir=str(EXAMPLES))
    report("engine (python -m shipway.engine)", ENGINE, {**env, JOB_ENV_VAR: job.to_json()},
           args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
