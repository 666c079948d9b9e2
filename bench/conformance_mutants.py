"""Print the conformance suite's mutation score: how many of the broken copies of the
process plugin (tests/core/_mutants.py) the suite catches, and which check caught each.

    python bench/conformance_mutants.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "core"))

from _mutants import run_all, score  # importable through the path above


def main() -> None:
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="shipway-mutants-") as directory:
        pristine, mutants, _ = run_all(Path(directory))
    passed = sum(result == "PASSED" for result in pristine.results.values())
    print(f"unmutated copy: {passed}/{len(pristine.results)} checks passed")
    for outcome in mutants:
        failed = sorted(test for test, result in outcome.results.items() if result != "PASSED")
        verdict = "caught by " + ", ".join(failed) if failed else "NOT CAUGHT"
        print(f"{outcome.slug:16} {outcome.rule}: {verdict}")
    print(f"mutation score: {score(mutants)} caught ({time.monotonic() - began:.0f}s)")


if __name__ == "__main__":
    main()
