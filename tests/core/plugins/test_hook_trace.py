"""``SHIPWAY_TRACE_HOOKS=1`` prints every hook call, with its arguments and its result,
to stderr: resolution through ``shipway_infrastructure_types`` and the observer hooks
that the registry calls one implementation at a time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from plugin_site import SitePackages

from shipway.infrastructure import Job
from shipway.plugins import PluginPolicy, PluginRegistry
from shipway.plugins._trace import TRACE_VAR
from shipway.states import State, StateType

OBSERVER = """
from shipway import hookimpl
from shipway.infrastructure import JobAdditions

@hookimpl
def shipway_job_submitting(job, infrastructure):
    return JobAdditions(env={"AUDIT_RUN": job.flow_run_id})

@hookimpl
def shipway_flow_run_state_changed(state):
    if state.type.value == "Failed":
        raise ValueError("the observer's own bug")
"""


CREDENTIALS_OBSERVER = """
from shipway import hookimpl
from shipway.infrastructure import JobAdditions

@hookimpl
def shipway_job_submitting():
    return JobAdditions(env={"VAULT_TOKEN": "s.hunter2", "VAULT_ADDR": "https://vault.internal"})
"""


@pytest.fixture
def tracing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TRACE_VAR, "1")


@pytest.fixture
def job() -> Job:
    return Job(entrypoint="flows/hello.py:hello", flow_run_id="run-1", deployment_name="example")


def install_observer(site: SitePackages) -> None:
    site.install(
        "acme-audit", "2.0", modules={"acme_audit": OBSERVER}, observers={"audit": "acme_audit"}
    )


def trace_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("shipway: ")]


@pytest.mark.usefixtures("tracing")
def test_resolution_shows_the_plugin_loading_and_what_its_hook_returned(
    site: SitePackages, capsys: pytest.CaptureFixture[str]
) -> None:
    site.install_infrastructure("acme-sandbox", "sandbox", "acme_sandbox_plugin", version="1.2")

    PluginRegistry(PluginPolicy()).resolve("sandbox")

    assert trace_lines(capsys.readouterr().err) == [
        "shipway: loading plugin 'sandbox' (acme-sandbox 1.2, module acme_sandbox_plugin)",
        "shipway: hook shipway_infrastructure_types() [plugin shipway.infrastructure:sandbox]",
        "shipway: hook shipway_infrastructure_types -> "
        "[<class 'acme_sandbox_plugin.Sandbox'>] [plugin shipway.infrastructure:sandbox]",
    ]


@pytest.mark.usefixtures("tracing")
def test_observer_calls_show_their_arguments_results_and_exceptions(
    site: SitePackages, job: Job, capsys: pytest.CaptureFixture[str]
) -> None:
    site.install_infrastructure("acme-sandbox", "sandbox", "acme_sandbox_plugin")
    install_observer(site)
    registry = PluginRegistry(PluginPolicy())
    infrastructure = registry.resolve("sandbox")(env={"API_TOKEN": "hunter2", "MODE": "fast"})
    registry.load_observers()
    capsys.readouterr()

    registry.job_submitting(job, infrastructure)
    registry.flow_run_state_changed(job, State(StateType.FAILED, message="boom"))

    lines = trace_lines(capsys.readouterr().err)
    assert len(lines) == 4, lines
    submitting, submitted, changing, raised = lines
    assert submitting.startswith("shipway: hook shipway_job_submitting(job=Job(")
    assert "flow_run_id='run-1'" in submitting
    assert "infrastructure=Sandbox(type='sandbox'" in submitting
    assert "'MODE': 'fast'" in submitting
    assert "hunter2" not in submitting  # secrets stay masked in the trace
    assert submitting.endswith("[plugin shipway.plugins:audit]")
    assert submitted == (
        "shipway: hook shipway_job_submitting -> "
        "JobAdditions(env={'AUDIT_RUN': 'run-1'}, labels={}) [plugin shipway.plugins:audit]"
    )
    # Only the arguments the implementation asks for are passed, and shown.
    assert changing.startswith("shipway: hook shipway_flow_run_state_changed(state=State(")
    assert "job=" not in changing
    assert raised == (
        "shipway: hook shipway_flow_run_state_changed raised ValueError: "
        "the observer's own bug [plugin shipway.plugins:audit]"
    )


@pytest.mark.usefixtures("tracing")
def test_secrets_a_hook_adds_are_masked_in_its_result(
    site: SitePackages, job: Job, capsys: pytest.CaptureFixture[str]
) -> None:
    site.install_infrastructure("acme-sandbox", "sandbox", "acme_sandbox_plugin")
    site.install(
        "acme-vault",
        "1.0",
        modules={"acme_vault": CREDENTIALS_OBSERVER},
        observers={"vault": "acme_vault"},
    )
    registry = PluginRegistry(PluginPolicy())
    infrastructure = registry.resolve("sandbox")()
    registry.load_observers()
    capsys.readouterr()

    additions = registry.job_submitting(job, infrastructure)

    assert additions.env["VAULT_TOKEN"] == "s.hunter2"  # the run still gets the value
    [returned] = [line for line in trace_lines(capsys.readouterr().err) if " -> " in line]
    assert "s.hunter2" not in returned
    assert "'VAULT_TOKEN': '********'" in returned
    assert "'VAULT_ADDR': 'https://vault.internal'" in returned


@pytest.mark.usefixtures("tracing")
def test_calls_through_pluggy_itself_are_traced_too(
    site: SitePackages, capsys: pytest.CaptureFixture[str]
) -> None:
    site.install_infrastructure("acme-sandbox", "sandbox", "acme_sandbox_plugin")
    registry = PluginRegistry(PluginPolicy())
    registry.resolve("sandbox")
    capsys.readouterr()

    registry._pm.hook.shipway_infrastructure_types()  # what a direct pm.hook call would do

    assert trace_lines(capsys.readouterr().err) == [
        "shipway: hook shipway_infrastructure_types() [plugin shipway.infrastructure:sandbox]",
        "shipway: hook shipway_infrastructure_types -> "
        "[[<class 'acme_sandbox_plugin.Sandbox'>]] [plugin shipway.infrastructure:sandbox]",
    ]


@pytest.mark.usefixtures("tracing")
def test_a_hook_nobody_implements_says_so(job: Job, capsys: pytest.CaptureFixture[str]) -> None:
    registry = PluginRegistry(PluginPolicy())

    registry.flow_run_state_changed(job, State(StateType.RUNNING))

    assert trace_lines(capsys.readouterr().err) == [
        "shipway: hook shipway_flow_run_state_changed: no plugin implements it"
    ]


def test_no_trace_unless_switched_on(
    site: SitePackages,
    job: Job,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(TRACE_VAR, "0")
    site.install_infrastructure("acme-sandbox", "sandbox", "acme_sandbox_plugin")
    install_observer(site)
    registry = PluginRegistry(PluginPolicy())
    infrastructure = registry.resolve("sandbox")()
    registry.load_observers()

    additions = registry.job_submitting(job, infrastructure)

    assert additions.env == {"AUDIT_RUN": "run-1"}
    assert trace_lines(capsys.readouterr().err) == []


def test_the_switch_works_from_the_command_line(site: SitePackages) -> None:
    site.install_infrastructure("acme-sandbox", "sandbox", "acme_sandbox_plugin")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    env.update(PYTHONPATH=str(site.root), SHIPWAY_PLUGINS_ALLOW="sandbox", **{TRACE_VAR: "1"})
    shipway = Path(sys.executable).with_name("shipway")

    result = subprocess.run(
        [str(shipway), "infra", "schema", "sandbox"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    returned = "hook shipway_infrastructure_types -> [<class 'acme_sandbox_plugin.Sandbox'>]"
    assert f"\nshipway: {returned}" in f"\n{result.stderr}", result.stderr
    assert '"sandbox"' in result.stdout  # the command's own output is untouched
