"""Fixtures for the agent tests (tests/_agent_fixtures.py; the store fixtures come from
tests/orchestration)."""

from __future__ import annotations

from _agent_fixtures import agents, project  # noqa: F401  # fixtures are found by their names
from _planted_secrets import leaky_project  # noqa: F401  # a fixture, found by its name
