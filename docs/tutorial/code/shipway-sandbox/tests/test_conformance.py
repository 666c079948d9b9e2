"""The sandbox keeps the whole infrastructure contract: shipway's conformance suite."""

import pytest
from shipway.testing import InfrastructureConformance

from shipway_sandbox import Sandbox


class TestSandboxConformance(InfrastructureConformance):
    @pytest.fixture
    def infrastructure(self) -> Sandbox:
        return Sandbox()
