"""Prefect's YAML deployment files -> one ``shipway.yaml`` beside them.

Every Prefect file of a directory (``prefect.yaml``, ``*deployment.yaml``) goes into the
directory's ``shipway.yaml``, which starts with a line saying it was written by
``shipway migrate``; a ``shipway.yaml`` without that line is the user's own and is never
overwritten. The Prefect files are left as they are (delete them once done)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from shipway.deployments import DEFAULT_FILE
from shipway.deployments._yaml import load_yaml
from shipway.errors import ShipwayError
from shipway.migrate._notes import Note
from shipway.migrate._prefect_yaml import Converted, convert_prefect_yaml, prefect_yaml_kind
from shipway.migrate._results import FileOutcome, Status, replace_atomically, unified_diff

__all__ = ["is_prefect_yaml_name", "migrate_yaml_files"]

HEADER = "# Written by `shipway migrate` from {sources} (Prefect 2)."
_MARK = "# Written by `shipway migrate`"
_TAKEN = "another Prefect file of this directory uses that name"


def is_prefect_yaml_name(name: str) -> bool:
    """The names Prefect gave its files: ``prefect.yaml``, ``deployment.yaml`` and
    ``<name>-deployment.yaml`` (what ``prefect deployment build -o`` suggested)."""
    stem, dot, suffix = name.rpartition(".")
    return (
        bool(dot)
        and suffix in ("yaml", "yml")
        and (stem == "prefect" or stem.endswith("deployment"))
    )


def migrate_yaml_files(
    files: Iterable[tuple[str, Path, bool]], *, write: bool
) -> Iterator[FileOutcome]:
    """One ``shipway.yaml`` per directory, from all of its Prefect files given.
    ``(display, path, named)``: a file found in a directory (not named) that is not
    Prefect's (a Kubernetes ``k8s-deployment.yaml``) is skipped without a word."""
    by_directory: dict[Path, list[tuple[str, Path, bool]]] = {}
    for display, path, named in files:
        by_directory.setdefault(path.resolve().parent, []).append((display, path, named))
    for directory, items in by_directory.items():
        yield from _migrate_directory(directory, items, write=write)


def _migrate_directory(
    directory: Path, items: list[tuple[str, Path, bool]], *, write: bool
) -> Iterator[FileOutcome]:
    merged = Converted()
    read: list[tuple[str, list[Note]]] = []
    for display, path, named in items:
        try:
            data, locate = load_yaml(path, display)
        except ShipwayError as exc:
            yield FileOutcome(display, Status.ERROR, error=str(exc))
            continue
        if prefect_yaml_kind(data) is None:
            if not named:
                continue
            yield FileOutcome(
                display,
                Status.ERROR,
                error=f"{display}: not a Prefect deployment file (no entrypoint and "
                "deployments as `prefect deployment build` or a prefect.yaml write them); skipped",
            )
            continue
        converted = convert_prefect_yaml(data, locate.line, directory)
        notes = [*converted.notes, *_merge(merged, converted, locate.line(()))]
        read.append((display, notes))
    if not read:
        return
    target = directory / DEFAULT_FILE
    target_display = str(Path(items[0][0]).parent / DEFAULT_FILE)
    before = target.read_text(encoding="utf-8") if target.exists() else ""
    if before and not before.startswith(_MARK):
        for display, _ in read:
            yield FileOutcome(
                display,
                Status.ERROR,
                error=f"{display}: {target_display} exists and was not written by shipway "
                "migrate: move it away (or merge by hand) and run again",
            )
        return
    after = _render(merged, [Path(d).name for d, _ in read])
    changed = after != before
    if changed and write:
        try:
            replace_atomically(target, after.encode("utf-8"))
        except OSError as exc:
            yield FileOutcome(
                read[0][0], Status.ERROR, error=f"{target_display}: cannot write: {exc.strerror}"
            )
            return
    diff = unified_diff(before, after, target_display) if changed else ""
    for index, (display, notes) in enumerate(read):
        yield FileOutcome(
            display,
            Status.CHANGED if changed else Status.UNCHANGED,
            diff=diff if index == 0 else "",
            notes=sorted(set(notes)),
            written=target_display,
        )


def _merge(merged: Converted, converted: Converted, line: int) -> list[Note]:
    """Add one file's blocks and deployments; a name taken by another file is an error
    shipway would refuse, so it is renamed, with a note."""
    notes = []
    renames: dict[str, str] = {}
    for name, settings in converted.blocks.items():
        new = name
        while new in merged.blocks and merged.blocks[new] != settings:
            new = f"{new}-2"
        merged.blocks[new] = settings
        if new != name:
            renames[name] = new
            notes.append(Note(line, f"infrastructure block {name!r} is named {new!r}: {_TAKEN}"))
    names = {d.get("name") for d in merged.deployments}
    for deployment in converted.deployments:
        block = deployment.get("infrastructure")
        if isinstance(block, str) and block in renames:
            deployment["infrastructure"] = renames[block]
        if deployment.get("name") in names:
            new_name = f"{deployment['name']}-2"
            notes.append(
                Note(line, f"deployment {deployment['name']!r} is named {new_name!r}: {_TAKEN}")
            )
            deployment["name"] = new_name
        names.add(deployment.get("name"))
        merged.deployments.append(deployment)
    return notes


def _render(converted: Converted, sources: list[str]) -> str:
    data: dict[str, Any] = {}
    if converted.blocks:
        data["infrastructure"] = converted.blocks
    data["deployments"] = converted.deployments
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
    header = HEADER.format(sources=", ".join(sources))
    return f"{header}\n# Check the notes it printed; delete the Prefect files once done.\n{body}"
