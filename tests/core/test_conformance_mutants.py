"""The conformance suite catches each way of breaking the contract it checks: copies of
the process plugin, each broken in one way (see _mutants.py), fail the suite as a
plugin author runs it, and the unbroken copy passes it. The score (mutants caught /
mutants) is printed; bench/conformance_mutants.py prints it alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from _mutants import (
    MUTATIONS,
    PRISTINE,
    Outcome,
    PatchDoesNotApply,
    checks,
    install,
    run_all,
    score,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Outcome, list[Outcome], str]:
    return run_all(tmp_path_factory.mktemp("mutants"))


def test_every_mutation_is_a_different_rule_and_at_least_twelve() -> None:
    assert len({m.slug for m in MUTATIONS}) == len({m.rule for m in MUTATIONS}) == len(MUTATIONS)
    assert len(MUTATIONS) >= 12


def test_a_patch_that_no_longer_applies_is_an_error(tmp_path: Path) -> None:
    stale = MUTATIONS[0].patches[0]
    broken = type(stale)(stale.file, stale.old + "# not in the plugin any more", stale.new)

    with pytest.raises(PatchDoesNotApply, match="update the mutation to the plugin"):
        install(tmp_path, "stale", (broken,))


def test_the_unmutated_copy_passes_every_check(
    outcomes: tuple[Outcome, list[Outcome], str],
) -> None:
    pristine, _, output = outcomes
    skipped_or_run = set(checks(None))

    assert pristine.slug == PRISTINE
    assert pristine.results and set(pristine.results.values()) == {"PASSED"}, output[-8000:]
    assert set(pristine.results) == skipped_or_run, output[-8000:]


def test_the_suite_fails_for_every_mutant(
    outcomes: tuple[Outcome, list[Outcome], str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, mutants, output = outcomes
    with capsys.disabled():
        print(f"\nconformance suite mutation score: {score(mutants)} mutants caught")
    survivors = [f"{m.slug} ({m.rule}): {m.results}" for m in mutants if not m.caught]

    assert all(m.results for m in mutants), output[-8000:]
    assert not survivors, "the suite let these through:\n" + "\n".join(survivors)
