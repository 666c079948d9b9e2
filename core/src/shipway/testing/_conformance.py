"""The infrastructure conformance suite: one test class a plugin author subclasses.

It is composed of one group of checks per concern (``_checks_*.py``), all built on
:class:`~shipway.testing._suite.ConformanceBase`: the settings, the hooks a subclass
overrides, and the helpers that start and stop runs.
"""

from __future__ import annotations

from shipway.testing._checks_configuration import ConfigurationChecks
from shipway.testing._checks_preview import PreviewChecks
from shipway.testing._checks_reattach import ReattachChecks
from shipway.testing._checks_running import ECHO_VARIABLE, RunningChecks
from shipway.testing._checks_stopping import StoppingChecks

__all__ = ["ECHO_VARIABLE", "InfrastructureConformance"]


class InfrastructureConformance(
    ConfigurationChecks, RunningChecks, StoppingChecks, PreviewChecks, ReattachChecks
):
    """Checks that an infrastructure plugin keeps the whole contract.

    Subclass it in a test module (the subclass's name must start with ``Test``) and
    provide the :meth:`infrastructure` fixture: an instance configured to run in
    your environment::

        import pytest

        from shipway.testing import InfrastructureConformance
        from shipway_acme import Acme


        class TestAcmeConformance(InfrastructureConformance):
            @pytest.fixture
            def infrastructure(self) -> Acme:
                return Acme(region="test")

    The plugin must be installed (``pip install -e .``): discovery through its entry
    point is part of the contract, and ``kill`` is tried from another process that
    finds the class by its type name.

    Where the platform cannot see this machine's files (a container image, a cluster),
    override :meth:`flow_jobs` as well: return ``FlowJobs(working_dir=...)`` naming the
    directory that holds ``flows/`` (from :func:`shipway.testing.standard_flows_dir`)
    as the platform sees it, or ``FlowJobs()`` when it is the platform's default
    working directory (an image whose ``WORKDIR`` holds ``flows/``).

    Class attributes tune the checks to a slower or different platform; the methods
    :meth:`platform_snapshot`, :meth:`leftover_processes`, :meth:`kill_command`,
    :meth:`start_command` and :meth:`identifier_elsewhere` adapt them to where runs
    live. Every flow the suite starts ends by itself once its check has given up.
    """
