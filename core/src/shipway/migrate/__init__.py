"""``shipway migrate``: rewrite deployment code written for flow runners (the Prefect 2.0
betas, or shipway's deprecated ``shipway.flow_runners``) to infrastructure, keeping its
formatting and comments. Needs libcst: ``pip install 'shipway[migrate]'``."""

from __future__ import annotations

from shipway.migrate._files import FileOutcome, Status, migrate_paths
from shipway.migrate._notes import Note
from shipway.migrate._source import (
    LIBCST_MISSING,
    Migration,
    NotPython,
    Undecodable,
    migrate_source,
    require_libcst,
)

__all__ = [
    "LIBCST_MISSING",
    "FileOutcome",
    "Migration",
    "NotPython",
    "Note",
    "Status",
    "Undecodable",
    "migrate_paths",
    "migrate_source",
    "require_libcst",
]
