"""Fixtures for the tests that start agents (with the store fixtures of _store_fixtures.py):
a project of flows, and agents started as real processes, stopped after each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from _agent_helpers import Agents, write_project

__all__ = ["agents", "project"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "project")


@pytest.fixture
def agents(store_url: str, shipway_home: Path, tmp_path: Path) -> Iterator[Agents]:
    logs = tmp_path / "agent-logs"
    logs.mkdir()
    started = Agents(store_url, shipway_home, logs)
    try:
        yield started
    finally:
        started.stop_all()
