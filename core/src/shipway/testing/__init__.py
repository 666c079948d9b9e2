"""Test an infrastructure plugin: an opt-in pytest plugin and the conformance suite.

Enable the fixtures in your ``tests/conftest.py`` (or with ``pytest -p shipway.testing``)::

    pytest_plugins = ["shipway.testing"]

and run the conformance suite against your class by subclassing one test class::

    class TestAcmeConformance(InfrastructureConformance):
        @pytest.fixture
        def infrastructure(self):
            return Acme()

The plugin is not registered automatically: installing shipway never changes how
anyone else's tests run. It needs pytest: ``pip install 'shipway[testing]'``.
"""

from __future__ import annotations

try:
    import pytest
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "shipway.testing is a pytest plugin and needs pytest, which is not installed. "
        "Install it with: pip install 'shipway[testing]'"
    ) from exc

import functools
from collections.abc import Callable
from pathlib import Path

import anyio

from shipway.infrastructure import Infrastructure, Job
from shipway.plugins import PluginPolicy, PluginRegistry
from shipway.testing._conformance import ECHO_VARIABLE, InfrastructureConformance
from shipway.testing._killer import KILLER_SCRIPT
from shipway.testing._project import (
    FLOWS_DIRNAME,
    STANDARD_FLOWS,
    FlowJobs,
    ShipwayProject,
    standard_flows_dir,
    write_standard_project,
)
from shipway.testing._running import (
    DEFAULT_TIMEOUT_SECONDS,
    FinishedRun,
    RecordingSink,
    RunHandle,
    run_job,
    started,
)
from shipway.testing._starter import STARTER_SCRIPT
from shipway.testing._storage_conformance import (
    WRONG_TOKEN,
    StorageConformance,
    write_storage_project,
)

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "ECHO_VARIABLE",
    "FLOWS_DIRNAME",
    "KILLER_SCRIPT",
    "STANDARD_FLOWS",
    "STARTER_SCRIPT",
    "WRONG_TOKEN",
    "FinishedRun",
    "FlowJobs",
    "InfrastructureConformance",
    "RecordingSink",
    "RunHandle",
    "ShipwayProject",
    "StorageConformance",
    "run_job",
    "shipway_project",
    "shipway_registry",
    "shipway_run",
    "standard_flows_dir",
    "started",
    "write_standard_project",
    "write_storage_project",
]

RunJob = Callable[[Infrastructure, Job], FinishedRun]


# -- fixtures -------------------------------------------------------------------------


@pytest.fixture
def shipway_project(tmp_path: Path) -> ShipwayProject:
    """A fresh project directory, ``tmp_path / "project"``, holding the standard flows.

    ``flows/hello.py`` prints ``Hello, <name>!``; ``flows/echo.py`` prints its parameters
    and an environment variable as JSON; ``flows/failing.py`` raises;
    ``flows/sleeper.py`` sleeps until killed and prints ``cleanup`` on the way out;
    ``flows/stubborn.py`` ignores SIGTERM and sleeps; ``flows/leaves_child.py`` starts a
    process and returns while it still runs; ``flows/holds_child.py`` sleeps beside a
    process it started; ``flows/unflushed.py`` prints without flushing, then sleeps;
    ``flows/exits_later.py`` sleeps, then exits with a given status;
    ``flows/digest.py`` prints the length and SHA-256 of its parameter.
    ``shipway_project.jobs.hello("you")`` builds a Job for one of them (the project is
    its working directory); ``shipway_project.write_flow(name, source)`` adds a flow.
    """
    return ShipwayProject.create(tmp_path / "project")


@pytest.fixture
def shipway_registry() -> PluginRegistry:
    """A fresh plugin registry that ignores the SHIPWAY_PLUGINS_* variables of the shell:
    ``shipway_registry.resolve("my-type")`` loads your plugin through its entry point."""
    return PluginRegistry(PluginPolicy())


@pytest.fixture
def shipway_run() -> RunJob:
    """``shipway_run(infrastructure, job)`` runs the job to the end from a synchronous
    test and returns a :class:`FinishedRun`: the identifier, the result and the output.
    In async (anyio) tests, ``await run_job(infrastructure, job)`` does the same."""

    def run(infrastructure: Infrastructure, job: Job) -> FinishedRun:
        return anyio.run(functools.partial(run_job, infrastructure, job))

    return run


# -- hooks ----------------------------------------------------------------------------


def pytest_report_header() -> str:
    from shipway._version import __version__

    types = PluginRegistry(PluginPolicy()).installed_type_names()
    return f"shipway {__version__}; infrastructure types: {', '.join(types) or 'none'}"
