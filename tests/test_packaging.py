"""Every distribution ships the Apache License 2.0 it declares.

Each distribution builds from its own folder (core/, plugins/*/), and a build backend
only packs files from inside that folder, so each folder holds a byte-for-byte copy of
the root LICENSE and names it in ``license-files``. A copy, not a symlink: hatchling
stores a symlink as a symlink in the sdist, where it points outside the archive and
dangles. Nothing is built here; building the wheels is described in CONTRIBUTING.md.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 (requirements-dev.txt installs tomli there)
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
LICENSE = ROOT / "LICENSE"
# SHA-256 of the Apache License 2.0 exactly as the Apache Software Foundation publishes
# it (LICENSE-2.0.txt): any edit, even of whitespace, changes it.
APACHE_2_0_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"

DISTRIBUTIONS = [
    ROOT / "core",
    *sorted(path.parent for path in (ROOT / "plugins").glob("*/pyproject.toml")),
]


def _pyproject(folder: Path) -> dict[str, Any]:
    with (folder / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def test_every_distribution_is_checked() -> None:
    names = {_pyproject(folder)["project"]["name"] for folder in DISTRIBUTIONS}

    assert {
        "shipway",
        "shipway-process",
        "shipway-docker",
        "shipway-kubernetes",
        "shipway-git",
        "shipway-fsspec",
    } <= names


def test_the_root_license_is_the_apache_license_2_0_verbatim() -> None:
    text = LICENSE.read_bytes()

    assert b"Apache License\n                           Version 2.0, January 2004" in text
    assert hashlib.sha256(text).hexdigest() == APACHE_2_0_SHA256, (
        "LICENSE is not the verbatim text of the Apache License 2.0, which every "
        "distribution declares"
    )


@pytest.mark.parametrize("folder", DISTRIBUTIONS, ids=lambda folder: folder.name)
def test_the_distribution_declares_the_license_and_names_its_file(folder: Path) -> None:
    project = _pyproject(folder)["project"]

    assert project["license"] == "Apache-2.0"
    assert project.get("license-files") == ["LICENSE"], (
        f"{folder.relative_to(ROOT)}/pyproject.toml must ship its LICENSE: "
        'license-files = ["LICENSE"]'
    )


@pytest.mark.parametrize("folder", DISTRIBUTIONS, ids=lambda folder: folder.name)
def test_the_distribution_folder_holds_a_copy_of_the_root_license(folder: Path) -> None:
    copy = folder / "LICENSE"
    where = copy.relative_to(ROOT)

    assert copy.is_file() and not copy.is_symlink(), (
        f"{where} must be a regular file (a symlink dangles in the sdist): cp LICENSE {where}"
    )
    assert copy.read_bytes() == LICENSE.read_bytes(), (
        f"{where} differs from LICENSE: cp LICENSE {where}"
    )


@pytest.mark.parametrize("folder", DISTRIBUTIONS, ids=lambda folder: folder.name)
def test_the_build_backend_understands_license_files(folder: Path) -> None:
    """The array form of ``license-files`` (PEP 639) and the License-File metadata it
    writes need hatchling 1.27; an older one rejects the field or drops the metadata."""
    build = _pyproject(folder)["build-system"]
    [hatchling] = [Requirement(r) for r in build["requires"] if r.startswith("hatchling")]

    assert build["build-backend"] == "hatchling.build"
    assert not hatchling.specifier.contains("1.26.3"), f"{folder.name}: require hatchling>=1.27"
    assert hatchling.specifier.contains("1.27.0")
