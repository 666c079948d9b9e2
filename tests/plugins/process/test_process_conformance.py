"""The process plugin keeps the whole infrastructure contract (shipway.testing's suite)."""

from __future__ import annotations

import pytest

from shipway.testing import InfrastructureConformance
from shipway_process import Process


class TestProcessConformance(InfrastructureConformance):
    @pytest.fixture
    def infrastructure(self) -> Process:
        return Process()
