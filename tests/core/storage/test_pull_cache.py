"""The pull cache: one pull per ref, whole or not at all, and no race between runs."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import ClassVar, Literal

import pytest

from shipway.storage import (
    STORAGE_CACHE_VAR,
    PullCache,
    Storage,
    StorageRefNotFound,
)


class Counting(Storage):
    """Writes a file per pull, slowly, and counts pulls (a class variable: every instance)."""

    type: Literal["counting"] = "counting"
    pulls: ClassVar[list[str]] = []
    fail: bool = False

    def push(self, project_dir: Path, *, allow_dirty: bool = False) -> str:
        return "ref-1"

    def pull(self, ref: str, destination: Path) -> None:
        self.pulls.append(ref)
        (destination / "half.py").write_text("x = 1\n", encoding="utf-8")
        time.sleep(0.2)
        if self.fail:
            raise StorageRefNotFound(self.describe(), ref, "gone")
        (destination / "flow.py").write_text("x = 2\n", encoding="utf-8")

    def preview(self, ref: str | None = None) -> str:
        return "count"


@pytest.fixture(autouse=True)
def _fresh_count() -> None:
    Counting.pulls.clear()


def test_second_pull_of_a_ref_copies_nothing(tmp_path: Path) -> None:
    cache = PullCache(tmp_path)
    first = cache.pull(Counting(), "ref-1")
    second = cache.pull(Counting(), "ref-1")

    assert first == second
    assert Counting.pulls == ["ref-1"]
    assert (first / "flow.py").is_file()


def test_concurrent_runs_of_one_ref_pull_once(tmp_path: Path) -> None:
    cache = PullCache(tmp_path)
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.pull(Counting(), "ref-1")))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Counting.pulls == ["ref-1"]
    assert len(set(results)) == 1 and (results[0] / "flow.py").is_file()


def test_a_failed_pull_leaves_nothing_behind(tmp_path: Path) -> None:
    cache = PullCache(tmp_path)
    with pytest.raises(StorageRefNotFound, match=r"storage counting \(ref ref-1\): gone"):
        cache.pull(Counting(fail=True), "ref-1")

    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []
    assert (cache.pull(Counting(), "ref-1") / "flow.py").is_file()  # a later run pulls again


def test_the_cache_directory_comes_from_the_environment(tmp_path: Path) -> None:
    assert PullCache.from_environment({STORAGE_CACHE_VAR: str(tmp_path)}).root == tmp_path
