"""Tests that need a service (a Docker engine, PostgreSQL, the Kubernetes binaries) skip
on a developer's machine that lacks it, and fail in CI, where a skip would hide it."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

__all__ = ["in_ci", "unavailable"]


def in_ci() -> bool:
    """CI services set ``CI=true`` (some ``CI=1``); unset, empty, 0 or false is local."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str, *, tests: str) -> NoReturn:
    """Skip locally; fail in CI, naming which ``tests`` must never be skipped there."""
    if in_ci():
        ci = os.environ["CI"]
        pytest.fail(f"{reason} (CI={ci}: {tests} tests are not skipped in CI)", pytrace=False)
    pytest.skip(reason)
