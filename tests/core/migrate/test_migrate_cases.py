"""``shipway migrate`` on whole files, as flow-runner users wrote them: each
``cases/NAME.py.before`` must become ``cases/NAME.py.after`` exactly (formatting and
comments kept), and migrating the result again must change nothing.

The fixtures are not ``.py`` files so that linters leave their odd formatting and old
imports alone. To add a case, write the ``.before`` file and the ``.after`` you expect.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from shipway.migrate import migrate_source

# The core installs without libcst (an extra: shipway[migrate]); its tests must pass there.
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("libcst") is None,
    reason="shipway migrate needs libcst: pip install 'shipway[migrate]'",
)

CASES = Path(__file__).parent / "cases"
NAMES = sorted(path.name.removesuffix(".py.before") for path in CASES.glob("*.py.before"))

#: What each case leaves for a person, by line of the original file.
EXPECTED_NOTES: dict[str, list[tuple[int, str]]] = {
    "prefect_ga_build_from_flow": [
        (15, "GitHub.load('etl-repo') names the Prefect storage block 'etl-repo'"),
        (17, "storage= is not carried over (removed)"),
        (31, "deployment.apply() removed: store the deployments with `shipway deployment apply"),
        (32, "deployment.apply() removed"),
    ],
    "prefect_flow_with_tasks": [
        (6, "@task(cache_key_fn=...) removed: shipway does not cache task results"),
        (13, "@flow(task_runner=...) removed: submitted tasks run on a thread pool"),
    ],
    "prefect_beta_schedules": [
        (7, "flow_location=: flows/etl.py is relative and the file's own place is unknown"),
        (14, "flow_location=: flows/etl.py is relative"),
    ],
    "seed_kubernetes_deployment": [
        (
            27,
            "KubernetesFlowRunner is used here other than by calling it, so it stays "
            "imported from shipway.flow_runners",
        ),
    ],
}


def read(name: str, suffix: str) -> str:
    return (CASES / f"{name}.py.{suffix}").read_text(encoding="utf-8")


def test_the_cases_cover_every_runner_and_the_unchanged_kinds() -> None:
    assert {
        "seed_subprocess_spec",
        "seed_docker_deployment",
        "seed_kubernetes_deployment",
        "mixed_syntax",
        "already_new",
        "unrelated",
        "comments_and_formatting",
    } <= set(NAMES)
    assert all((CASES / f"{name}.py.after").exists() for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_case_is_rewritten_exactly(name: str) -> None:
    migration = migrate_source(read(name, "before"))
    assert migration.code == read(name, "after")
    assert migration.changed == (read(name, "before") != read(name, "after"))
    compile(migration.code, f"{name}.py", "exec")  # still Python


@pytest.mark.parametrize("name", NAMES)
def test_case_notes(name: str) -> None:
    notes = migrate_source(read(name, "before")).notes
    expected = EXPECTED_NOTES.get(name, [])
    assert [note.line for note in notes] == [line for line, _ in expected]
    for note, (_, start) in zip(notes, expected, strict=True):
        assert note.message.startswith(start), note


@pytest.mark.parametrize("name", NAMES)
def test_migrating_twice_changes_nothing(name: str) -> None:
    again = migrate_source(read(name, "after"))
    assert not again.changed
    assert again.code == read(name, "after")


@pytest.mark.parametrize("name", ["already_new", "unrelated"])
def test_files_needing_nothing_are_left_byte_for_byte(name: str) -> None:
    assert read(name, "before") == read(name, "after")
    migration = migrate_source(read(name, "before").encode())
    assert not migration.changed
    assert migration.notes == []
