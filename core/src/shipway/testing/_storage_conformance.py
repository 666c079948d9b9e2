"""The storage conformance suite: one test class a storage plugin author subclasses."""

from __future__ import annotations

import json
from collections.abc import Collection, Hashable
from pathlib import Path

import pytest
from pydantic import ValidationError

from shipway.plugins import (
    STORAGE_GROUP,
    PluginPolicy,
    PluginRegistry,
    PluginStatus,
    find_plugin_sources,
)
from shipway.storage import (
    PullCache,
    Storage,
    StorageCredentialsRejected,
    StorageRefNotFound,
    project_files,
)

__all__ = ["WRONG_TOKEN", "StorageConformance", "write_storage_project"]

WRONG_TOKEN = "shipway-conformance-wrong-token-7f3a"
"""The credential a :meth:`StorageConformance.bad_credentials_storage` should carry: no
error message may show it."""

_PROJECT = {
    "flows/hello.py": "from shipway import flow\n\n\n@flow\ndef hello():\n    print('hello')\n",
    "flows/helpers/__init__.py": "",
    "data/table.csv": "a,b\n1,2\n",
    "run.sh": "#!/bin/sh\necho run\n",
    ".shipwayignore": "*.log\nscratch/\n",
    "debug.log": "not pushed\n",
    "scratch/notes.txt": "not pushed\n",
    "flows/__pycache__/hello.cpython-311.pyc": "not pushed\n",
    ".venv/bin/python": "not pushed\n",
}


def write_storage_project(directory: Path) -> Path:
    """The project the suite pushes: flows, data, an executable script, and files that
    ``.shipwayignore`` and the default exclusions keep out of a push."""
    for relative, text in _PROJECT.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (directory / "run.sh").chmod(0o755)
    return directory


class StorageConformance:
    """Checks every storage plugin must pass.

    Subclass it in a test module (the name must start with ``Test``) and provide the
    :meth:`storage` fixture: an instance that can push and pull here::

        class TestBucketConformance(StorageConformance):
            @pytest.fixture
            def storage(self, bucket_server) -> Bucket:
                return Bucket(url=bucket_server.url)

    Override :meth:`project_dir` when a push needs more than files (git: a committed
    checkout), :meth:`bad_credentials_storage` when the storage has credentials, and
    :meth:`storage_snapshot` to let the preview check see what a push would create.
    """

    # -- what the subclass provides ----------------------------------------------------

    @pytest.fixture
    def storage(self) -> Storage:
        raise NotImplementedError(
            f"{type(self).__name__} must provide the 'storage' fixture: an instance of your "
            "Storage class that can push and pull here"
        )

    @pytest.fixture
    def project_dir(self, tmp_path: Path) -> Path:
        """The project to push (default: :func:`write_storage_project`)."""
        return write_storage_project(tmp_path / "project")

    @pytest.fixture
    def bad_credentials_storage(self, storage: Storage) -> Storage | None:
        """The storage with wrong credentials (:data:`WRONG_TOKEN`), or None when it
        takes no credentials (the check is then skipped)."""
        return None

    @pytest.fixture
    def missing_ref(self) -> str:
        """A ref never pushed (default: forty zeros, a commit id no repository has)."""
        return "0" * 40

    def storage_snapshot(self, storage: Storage) -> Collection[Hashable]:
        """What exists in the storage now (objects, directories); default: nothing seen."""
        return ()

    # -- the plugin --------------------------------------------------------------------

    def test_type_is_discovered_through_its_entry_point(self, storage: Storage) -> None:
        cls = type(storage)
        type_name = cls.type_name()
        assert storage.type == type_name
        sources = find_plugin_sources(STORAGE_GROUP, type_name)
        assert sources, (
            f"no entry point named {type_name!r} in the group {STORAGE_GROUP!r}. Declare it:\n"
            f'    [project.entry-points."{STORAGE_GROUP}"]\n'
            f'    {type_name} = "{cls.__module__.split(".")[0]}.plugin"'
        )
        assert PluginRegistry(PluginPolicy()).resolve_storage(type_name) is cls

    def test_plugin_is_listed_as_loaded(self, storage: Storage) -> None:
        rows = [
            info
            for info in PluginRegistry(PluginPolicy()).list_plugins()
            if info.name == storage.type and info.kind == "storage"
        ]
        assert rows, f"`shipway plugins` does not list {storage.type!r}"
        for row in rows:
            assert row.status is PluginStatus.LOADED, f"`shipway plugins` shows {row}"
            assert "shipway_storage_types" in row.hooks

    def test_fields_are_documented_and_unknown_ones_rejected(self, storage: Storage) -> None:
        cls = type(storage)
        json.dumps(cls.model_json_schema())
        own = set(cls.model_fields) - set(Storage.model_fields)
        undocumented = sorted(n for n in own if not (cls.model_fields[n].description or ""))
        assert not undocumented, f"fields without a description: {undocumented}"
        with pytest.raises(ValidationError, match="not_a_real_field"):
            cls.model_validate({**storage.block(), "not_a_real_field": 1})

    # -- push and pull -----------------------------------------------------------------

    def test_push_then_pull_gives_the_project_back(
        self, storage: Storage, project_dir: Path, tmp_path: Path
    ) -> None:
        ref = storage.push(project_dir)
        assert isinstance(ref, str) and ref, f"push returned {ref!r}"
        assert storage.push(project_dir) == ref, "pushing the same project changed the ref"

        pulled = PullCache(tmp_path / "cache").pull(storage, ref)

        expected = {f.relative: f.path.read_bytes() for f in project_files(project_dir)}
        got = {f.relative: f.path.read_bytes() for f in project_files(pulled)}
        assert got == expected
        for excluded in ("debug.log", "scratch", ".venv", "flows/__pycache__"):
            assert not (pulled / excluded).exists(), f"{excluded} was pushed"
        assert (pulled / "run.sh").stat().st_mode & 0o100, "the executable bit was lost"

    def test_a_second_pull_of_a_ref_copies_nothing(
        self,
        storage: Storage,
        project_dir: Path,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        ref = storage.push(project_dir)
        cache = PullCache(tmp_path / "cache")
        first = cache.pull(storage, ref)
        calls: list[str] = []
        original = type(storage).pull

        def counting(self: Storage, ref: str, destination: Path) -> None:
            calls.append(ref)
            original(self, ref, destination)

        monkeypatch.setattr(type(storage), "pull", counting)
        second = cache.pull(storage, ref)

        assert second == first
        assert calls == [], "a cached ref was pulled again"

    def test_a_missing_ref_is_reported_as_such(
        self, storage: Storage, missing_ref: str, tmp_path: Path
    ) -> None:
        cache = PullCache(tmp_path / "cache")
        with pytest.raises(StorageRefNotFound) as caught:
            cache.pull(storage, missing_ref)

        assert missing_ref in caught.value.message
        assert storage.type in caught.value.message
        assert _nothing_but_locks(cache.root), "a failed pull left files in the cache"

    def test_bad_credentials_are_reported_without_the_secret(
        self,
        bad_credentials_storage: Storage | None,
        storage: Storage,
        project_dir: Path,
        tmp_path: Path,
    ) -> None:
        if bad_credentials_storage is None:
            pytest.skip(f"{storage.type} takes no credentials")
        ref = storage.push(project_dir)
        cache = PullCache(tmp_path / "cache")

        with pytest.raises(StorageCredentialsRejected) as caught:
            cache.pull(bad_credentials_storage, ref)

        assert WRONG_TOKEN not in str(caught.value)
        assert ref in caught.value.message
        assert _nothing_but_locks(cache.root)

    def test_preview_has_no_side_effects(self, storage: Storage) -> None:
        before = set(self.storage_snapshot(storage))
        first = storage.preview("0123abcd")
        second = storage.preview("0123abcd")
        placeholder = storage.preview()
        after = set(self.storage_snapshot(storage))

        assert isinstance(first, str) and first.strip()
        assert first == second
        assert "0123abcd" in first, "preview(ref) does not say which ref it would pull"
        assert isinstance(placeholder, str) and placeholder.strip()
        assert after == before, f"preview changed the storage: {sorted(map(str, after ^ before))}"


def _nothing_but_locks(root: Path) -> bool:
    return not root.exists() or all(p.name.endswith(".lock") for p in root.iterdir())
