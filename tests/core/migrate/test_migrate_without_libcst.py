"""Without libcst (the core installed alone, not ``shipway[migrate]``), ``shipway migrate``
says what to install. The tests make the import fail as a missing package does, so they
run whether libcst is installed or not."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from shipway.cli import main
from shipway.errors import ShipwayError
from shipway.migrate import LIBCST_MISSING, migrate_source

MESSAGE = "shipway migrate needs libcst. Install it with: pip install 'shipway[migrate]'"


@pytest.fixture(autouse=True)
def without_libcst(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "libcst", None)  # `import libcst` now raises ImportError


def test_the_message_names_the_extra() -> None:
    assert LIBCST_MISSING == MESSAGE
    with pytest.raises(ShipwayError) as caught:
        migrate_source("from prefect import flow\n")
    assert str(caught.value) == MESSAGE


def test_the_command_says_it_exits_2_and_leaves_files_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "deployments.py"
    path.write_text("from prefect import flow\n")
    with pytest.raises(SystemExit) as caught:
        main(["migrate", str(path)])
    assert caught.value.code == 2
    assert capsys.readouterr().err == f"Error: {MESSAGE}\n"
    assert path.read_text() == "from prefect import flow\n"
