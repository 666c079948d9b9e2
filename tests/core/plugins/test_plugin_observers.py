"""Observer plugins (entry-point group ``shipway.plugins``) and the typed hook façade."""

from __future__ import annotations

import logging
import sys
from typing import Any

import pytest
from plugin_site import SitePackages, infrastructure_source

from shipway.infrastructure import Infrastructure, Job, JobAdditions
from shipway.plugins import PluginLoadError, PluginPolicy, PluginRegistry, PluginStatus
from shipway.states import State, StateType

RECORDING_OBSERVER = """
from shipway import hookimpl

calls = []

@hookimpl
def shipway_flow_run_state_changed(job, state):
    calls.append((job.flow_run_id, state.type.value))
"""

FAILING_OBSERVER = """
from shipway import hookimpl

calls = []

@hookimpl
def shipway_flow_run_state_changed(job, state):
    calls.append(state.type.value)
    raise ValueError("the observer's own bug")
"""


def submitting_observer(env: dict[str, str], labels: dict[str, str]) -> str:
    return f"""
from shipway import hookimpl
from shipway.infrastructure import JobAdditions

@hookimpl
def shipway_job_submitting(job, infrastructure):
    return JobAdditions(env={env!r}, labels={labels!r})
"""


@pytest.fixture
def job() -> Job:
    return Job(entrypoint="flows/hello.py:hello_world", deployment_name="example")


@pytest.fixture
def infrastructure(site: SitePackages) -> Infrastructure:
    site.install_infrastructure("acme-sandbox", "sandbox", "acme_sandbox_plugin")
    return PluginRegistry(PluginPolicy()).resolve("sandbox")()


def calls_of(module: str) -> list[Any]:
    calls: list[Any] = sys.modules[module].calls
    return calls


def test_load_observers_loads_every_observer_entry_point_once(
    site: SitePackages, registry: PluginRegistry, job: Job
) -> None:
    site.install(
        "acme-audit",
        modules={"acme_audit": RECORDING_OBSERVER},
        observers={"audit": "acme_audit"},
    )

    registry.load_observers()
    registry.load_observers()
    registry.flow_run_state_changed(job, State(StateType.RUNNING))

    assert calls_of("acme_audit") == [(job.flow_run_id, "Running")]


def test_resolving_infrastructure_loads_no_observer(
    site: SitePackages, registry: PluginRegistry
) -> None:
    site.install_infrastructure("acme-sandbox", "sandbox", "acme_sandbox_plugin")
    site.install(
        "acme-audit",
        modules={"acme_audit": RECORDING_OBSERVER},
        observers={"audit": "acme_audit"},
    )

    registry.resolve("sandbox")

    assert "acme_audit" not in sys.modules


def test_one_distribution_may_ship_infrastructure_and_an_observer(
    site: SitePackages, registry: PluginRegistry, job: Job
) -> None:
    site.install(
        "acme-suite",
        modules={
            "acme_suite_infra": infrastructure_source("sandbox"),
            "acme_suite_audit": RECORDING_OBSERVER,
        },
        infrastructure={"sandbox": "acme_suite_infra"},
        observers={"suite-audit": "acme_suite_audit"},
    )

    rows = {(info.name, info.kind): info for info in registry.list_plugins()}

    observer = rows[("suite-audit", "observer")]
    assert observer.status is PluginStatus.LOADED
    assert observer.hooks == ("shipway_flow_run_state_changed",)
    assert observer.class_name is None
    assert (observer.distribution, observer.module) == ("acme-suite", "acme_suite_audit")
    assert rows[("sandbox", "infrastructure")].status is PluginStatus.LOADED


# -- shipway_job_submitting ------------------------------------------------------------


def test_hook_shipway_job_submitting(
    site: SitePackages, registry: PluginRegistry, job: Job, infrastructure: Infrastructure
) -> None:
    """What every installed plugin's hook returns is merged into the run's additions;
    when two add the same key, the first plugin loaded wins."""
    site.install(
        "acme-tracing",
        modules={"acme_tracing": submitting_observer({"TRACE_ID": "t-1"}, {"team": "data"})},
        observers={"a-tracing": "acme_tracing"},
    )
    site.install(
        "acme-costs",
        modules={
            "acme_costs": submitting_observer(
                {"COST_CENTRE": "42", "TRACE_ID": "overridden?"}, {"cost": "low"}
            )
        },
        observers={"b-costs": "acme_costs"},
    )
    registry.load_observers()

    added = registry.job_submitting(job, infrastructure)

    assert added == JobAdditions(
        env={"TRACE_ID": "t-1", "COST_CENTRE": "42"},  # the first plugin loaded wins
        labels={"team": "data", "cost": "low"},
    )


def test_a_tryfirst_implementation_is_called_first_and_wins(
    site: SitePackages, registry: PluginRegistry, job: Job, infrastructure: Infrastructure
) -> None:
    site.install(
        "acme-tracing",
        modules={"acme_tracing": submitting_observer({"TRACE_ID": "t-1"}, {})},
        observers={"a-tracing": "acme_tracing"},
    )
    site.install(
        "acme-override",
        modules={
            "acme_override": submitting_observer({"TRACE_ID": "forced"}, {}).replace(
                "@hookimpl", "@hookimpl(tryfirst=True)"
            )
        },
        observers={"z-override": "acme_override"},
    )
    registry.load_observers()

    assert registry.job_submitting(job, infrastructure).env == {"TRACE_ID": "forced"}


def test_job_submitting_with_no_plugin_adds_nothing(
    registry: PluginRegistry, job: Job, infrastructure: Infrastructure
) -> None:
    assert registry.job_submitting(job, infrastructure) == JobAdditions()


def test_job_submitting_ignores_a_plugin_that_returns_none_or_raises(
    site: SitePackages,
    registry: PluginRegistry,
    job: Job,
    infrastructure: Infrastructure,
    caplog: pytest.LogCaptureFixture,
) -> None:
    site.install(
        "acme-quiet",
        modules={
            "acme_quiet": """
            from shipway import hookimpl

            @hookimpl
            def shipway_job_submitting(job):
                return None
            """,
            "acme_crashing": """
            from shipway import hookimpl

            @hookimpl
            def shipway_job_submitting(infrastructure):
                raise KeyError("missing setting")
            """,
            "acme_labels": submitting_observer({}, {"owner": "me"}),
        },
        observers={"a-quiet": "acme_quiet", "b-crash": "acme_crashing", "c-labels": "acme_labels"},
    )
    registry.load_observers()

    with caplog.at_level(logging.WARNING, logger="shipway.plugins"):
        added = registry.job_submitting(job, infrastructure)

    assert added == JobAdditions(labels={"owner": "me"})
    assert "shipway_job_submitting" in caplog.text
    assert "KeyError" in caplog.text


# -- shipway_flow_run_state_changed ----------------------------------------------------


def install_three_state_observers(site: SitePackages) -> None:
    site.install(
        "acme-observers",
        modules={
            "acme_first": RECORDING_OBSERVER,
            "acme_failing": FAILING_OBSERVER,
            "acme_last": RECORDING_OBSERVER,
        },
        observers={"a-first": "acme_first", "b-failing": "acme_failing", "c-last": "acme_last"},
    )


def test_hook_shipway_flow_run_state_changed(
    site: SitePackages, registry: PluginRegistry, job: Job, caplog: pytest.LogCaptureFixture
) -> None:
    """Every installed observer is told each state with the run's job, in order, even
    when one of them raises: that one is reported as a warning naming the plugin."""
    install_three_state_observers(site)
    registry.load_observers()

    with caplog.at_level(logging.WARNING, logger="shipway.plugins"):
        registry.flow_run_state_changed(job, State(StateType.PENDING))
        registry.flow_run_state_changed(job, State(StateType.COMPLETED))

    assert calls_of("acme_first") == [(job.flow_run_id, "Pending"), (job.flow_run_id, "Completed")]
    assert calls_of("acme_failing") == ["Pending", "Completed"]
    assert calls_of("acme_last") == calls_of("acme_first")
    [first_warning, _] = [r for r in caplog.records if r.name == "shipway.plugins"]
    message = first_warning.getMessage()
    assert "shipway_flow_run_state_changed" in message
    assert "b-failing" in message  # names the plugin...
    assert "ValueError: the observer's own bug" in message  # ...and what went wrong


def test_strict_mode_raises_the_observers_exception(site: SitePackages, job: Job) -> None:
    install_three_state_observers(site)
    registry = PluginRegistry(PluginPolicy(strict=True))
    registry.load_observers()

    with pytest.raises(ValueError, match="the observer's own bug"):
        registry.flow_run_state_changed(job, State(StateType.RUNNING))

    assert calls_of("acme_first") == [(job.flow_run_id, "Running")]


def test_an_implementation_may_ask_for_a_subset_of_the_arguments(
    site: SitePackages, registry: PluginRegistry, job: Job, infrastructure: Infrastructure
) -> None:
    """The versioning promise: pluggy passes only what an implementation asks for, so a
    plugin written against fewer arguments keeps working when arguments are added."""
    site.install(
        "acme-minimal",
        modules={
            "acme_minimal": """
            from shipway import hookimpl
            from shipway.infrastructure import JobAdditions

            calls = []

            @hookimpl
            def shipway_flow_run_state_changed(state):
                calls.append(state.type.value)

            @hookimpl
            def shipway_job_submitting():
                calls.append("submitting")
                return JobAdditions(env={"MINIMAL": "1"})
            """
        },
        observers={"minimal": "acme_minimal"},
    )
    registry.load_observers()

    registry.flow_run_state_changed(job, State(StateType.FAILED, message="boom"))
    added = registry.job_submitting(job, infrastructure)

    assert calls_of("acme_minimal") == ["Failed", "submitting"]
    assert added.env == {"MINIMAL": "1"}


# -- observers that fail to load -------------------------------------------------------


def test_a_broken_observer_is_logged_and_the_others_still_load(
    site: SitePackages, registry: PluginRegistry, job: Job, caplog: pytest.LogCaptureFixture
) -> None:
    site.install(
        "acme-broken-observer",
        "0.2",
        modules={"acme_broken_observer": "import no_such_module_for_shipway_tests\n"},
        observers={"a-broken": "acme_broken_observer"},
    )
    site.install(
        "acme-audit",
        modules={"acme_audit": RECORDING_OBSERVER},
        observers={"z-audit": "acme_audit"},
    )

    with caplog.at_level(logging.WARNING, logger="shipway.plugins"):
        registry.load_observers()
    registry.flow_run_state_changed(job, State(StateType.RUNNING))

    assert calls_of("acme_audit") == [(job.flow_run_id, "Running")]
    assert "a-broken" in caplog.text
    assert "acme-broken-observer 0.2" in caplog.text
    assert "ModuleNotFoundError" in caplog.text
    [row] = [info for info in registry.list_plugins() if info.name == "a-broken"]
    assert row.kind == "observer"
    assert row.status is PluginStatus.FAILED


def test_strict_mode_raises_when_an_observer_fails_to_load(site: SitePackages) -> None:
    site.install(
        "acme-typo-observer",
        modules={
            "acme_typo_observer": """
            from shipway import hookimpl

            @hookimpl
            def shipway_flow_run_state_change(job, state):
                pass
            """
        },
        observers={"typo": "acme_typo_observer"},
    )

    with pytest.raises(PluginLoadError) as excinfo:
        PluginRegistry(PluginPolicy(strict=True)).load_observers()

    assert "plugin 'typo' (acme-typo-observer 1.0" in str(excinfo.value)
    assert "shipway_flow_run_state_change" in str(excinfo.value)


def test_blocked_observers_are_not_loaded(site: SitePackages, job: Job) -> None:
    site.install(
        "acme-audit", modules={"acme_audit": RECORDING_OBSERVER}, observers={"audit": "acme_audit"}
    )
    registry = PluginRegistry(PluginPolicy.from_environment({"SHIPWAY_PLUGINS_BLOCK": "audit"}))

    registry.load_observers()
    registry.flow_run_state_changed(job, State(StateType.RUNNING))

    assert "acme_audit" not in sys.modules
    [row] = [info for info in registry.list_plugins() if info.name == "audit"]
    assert row.status is PluginStatus.BLOCKED
