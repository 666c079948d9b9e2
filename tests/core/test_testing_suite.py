"""``shipway.testing``: the standard flows, the opt-in pytest plugin, and a conformance
suite that passes a plugin keeping the contract and catches each way of breaking it.

The suite runs in a separate pytest process against real plugin distributions
(``.dist-info`` folders with entry points, found by ``importlib.metadata``) written
into a temporary site directory: one that keeps the whole contract, and variants
that each break one clause of it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Literal

import anyio
import pytest
from anyio.abc import TaskStatus

import shipway.testing
from shipway.entrypoints import load_flow
from shipway.infrastructure import Infrastructure, InfrastructureResult, Job
from shipway.plugins import INFRASTRUCTURE_GROUP
from shipway.testing import (
    STANDARD_FLOWS,
    FlowJobs,
    InfrastructureConformance,
    ShipwayProject,
    standard_flows_dir,
    started,
    write_standard_project,
)

PYTEST_TIMEOUT = 600

# A plugin module keeping the whole contract: the engine as a child process in its own
# process group, output streamed line by line, kill by process group from anywhere.
PLUGIN_MODULE = '''
from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
from typing import ClassVar, Literal

import anyio
from pydantic import ConfigDict, Field

from shipway import hookimpl
from shipway.infrastructure import (
    Infrastructure,
    InfrastructureNotAvailable,
    InfrastructureNotFound,
    InfrastructureResult,
    LineSplitter,
    mask_secrets,
)


class Good(Infrastructure):
    """Runs the engine as a local child process."""

    type: Literal["suite-good"] = "suite-good"
    pass_env: bool = Field(default=True, description="Hand env to the run.")
    holds_output: ClassVar[bool] = False
    stops_on_cancel: ClassVar[bool] = True
    checks_location: ClassVar[bool] = True

    async def run(self, job, task_status=anyio.TASK_STATUS_IGNORED):
        with self.handover(job) as handover:  # a large job's file lives as long as the run
            return await self._run(job, handover, task_status)

    def handover(self, job):
        return self.local_job_environment(job)

    async def _run(self, job, handover, task_status):
        env = dict(os.environ)
        if self.pass_env:
            for key, value in handover.items():
                if value is None:
                    env.pop(key, None)
                else:
                    env[key] = value
        else:  # only the hand-over, none of the env field
            env["SHIPWAY_FLOW_RUN"] = job.to_json()
        process = await anyio.open_process(
            self.job_command(sys.executable), cwd=job.working_dir, env=env,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        identifier = f"{socket.gethostname()}:{process.pid}"
        task_status.started(identifier)

        async def pump(stream, name):
            lines = LineSplitter()
            held = []
            async for chunk in stream:
                for line in lines.feed(chunk):
                    if self.holds_output:
                        held.append(line)
                    else:
                        self.write_output(name, line)
            for line in [*held, *lines.flush()]:
                self.write_output(name, line)

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(pump, process.stdout, "stdout")
                tg.start_soon(pump, process.stderr, "stderr")
                code = await _exited(process)
                await self.after_exit(identifier)  # the pipes end with what it left
        except BaseException:
            if not self.stops_on_cancel:
                raise
            with anyio.CancelScope(shield=True):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
                with anyio.move_on_after(5):  # the pipes end with the group: let asyncio
                    for stream in (process.stdout, process.stderr):  # see it before its
                        async for _ in stream:  # loop closes, or their transport leaks
                            pass
            raise
        return InfrastructureResult(identifier, self.report(code))

    def report(self, code):
        return code

    async def after_exit(self, identifier):
        """The run is over once the engine has exited: stop what it left in its group."""
        with contextlib.suppress(InfrastructureNotFound):
            await self.kill(identifier, 2)

    async def kill(self, identifier, grace_seconds=30):
        host, _, pid = identifier.rpartition(":")
        if self.checks_location and host != socket.gethostname():
            raise InfrastructureNotAvailable(f"{identifier} runs on {host}")
        pgid = int(pid)
        try:
            os.killpg(pgid, self.first_signal())
        except ProcessLookupError:
            raise InfrastructureNotFound(f"{identifier} has ended") from None
        with anyio.move_on_after(grace_seconds):
            while _alive(pgid):
                await anyio.sleep(0.05)
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, self.last_signal())

    def first_signal(self):
        return signal.SIGTERM

    def last_signal(self):
        return signal.SIGKILL

    def preview(self, job=None):
        env = mask_secrets(self.job_environment(self.preview_job(job)))
        assigned = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items() if v is not None)
        return f"env {assigned} {shlex.join(self.job_command(sys.executable))}"


async def _exited(process):
    # Not process.wait(): before Python 3.12 it also waits for the output pipes, which
    # what the flow left running holds open.
    while process.returncode is None:
        await anyio.sleep(0.05)
    return process.returncode


def _alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pgid}/stat", "rb") as stat:  # a zombie leader has ended
            return stat.read().rpartition(b")")[2].split()[0] != b"Z"
    except OSError:  # the leader is gone, others of its group are not
        return True


class Undocumented(Good):
    type: Literal["suite-undocumented"] = "suite-undocumented"
    region: str = "here"


class ExtraAllowed(Good):
    model_config = ConfigDict(extra="allow")
    type: Literal["suite-extra-allowed"] = "suite-extra-allowed"


class IgnoresEnv(Good):
    type: Literal["suite-ignores-env"] = "suite-ignores-env"
    pass_env: bool = Field(default=False, description="Hand env to the run.")


class EnvOverHandover(Good):
    type: Literal["suite-env-over-handover"] = "suite-env-over-handover"

    def job_environment(self, job):
        return {**super().job_environment(job), **self.env}  # env laid over the hand-over


class SwallowsFailure(Good):
    type: Literal["suite-swallows-failure"] = "suite-swallows-failure"

    def report(self, code):
        return 0


class KillsAtOnce(Good):
    type: Literal["suite-kills-at-once"] = "suite-kills-at-once"

    def first_signal(self):
        return signal.SIGKILL


class NeverForces(Good):
    type: Literal["suite-never-forces"] = "suite-never-forces"

    def last_signal(self):
        return 0  # only asks whether the group exists: a run ignoring SIGTERM goes on


class InlineJob(Good):
    type: Literal["suite-inline-job"] = "suite-inline-job"

    def handover(self, job):
        return contextlib.nullcontext(self.job_environment(job))  # however large the job


class WaitsForChildren(Good):
    type: Literal["suite-waits-for-children"] = "suite-waits-for-children"

    async def after_exit(self, identifier):
        pass  # the run goes on until what the flow left running ends


class NoisyPreview(Good):
    type: Literal["suite-noisy-preview"] = "suite-noisy-preview"

    def preview(self, job=None):
        self.write_output("stdout", b"previewing\\n")
        subprocess.Popen(["sleep", "30"])
        env = self.job_environment(self.preview_job(job))
        return " ".join(f"{k}={v}" for k, v in env.items())


class HoldsOutput(Good):
    type: Literal["suite-holds-output"] = "suite-holds-output"
    holds_output: ClassVar[bool] = True  # passes output on only once the run has ended


class CancelLeavesRun(Good):
    type: Literal["suite-cancel-leaves-run"] = "suite-cancel-leaves-run"
    stops_on_cancel: ClassVar[bool] = False


class IgnoresLocation(Good):
    type: Literal["suite-ignores-location"] = "suite-ignores-location"
    checks_location: ClassVar[bool] = False  # kills the local pid of any host's identifier


@hookimpl
def shipway_infrastructure_types():
    return [Good, Undocumented, ExtraAllowed, IgnoresEnv, EnvOverHandover, SwallowsFailure,
            KillsAtOnce, NeverForces, InlineJob, WaitsForChildren, NoisyPreview,
            HoldsOutput, CancelLeavesRun, IgnoresLocation]
'''

TYPE_NAMES = {
    "Good": "suite-good",
    "Undocumented": "suite-undocumented",
    "ExtraAllowed": "suite-extra-allowed",
    "IgnoresEnv": "suite-ignores-env",
    "EnvOverHandover": "suite-env-over-handover",
    "SwallowsFailure": "suite-swallows-failure",
    "KillsAtOnce": "suite-kills-at-once",
    "NeverForces": "suite-never-forces",
    "InlineJob": "suite-inline-job",
    "WaitsForChildren": "suite-waits-for-children",
    "NoisyPreview": "suite-noisy-preview",
    "HoldsOutput": "suite-holds-output",
    "CancelLeavesRun": "suite-cancel-leaves-run",
    "IgnoresLocation": "suite-ignores-location",
}

TEST_MODULE = '''
import pytest

from shipway.testing import FlowJobs, InfrastructureConformance, ShipwayProject
import suite_plugin


class Quick(InfrastructureConformance):
    kill_grace_seconds = 5


class TestGood(Quick):
    @pytest.fixture
    def infrastructure(self):
        return suite_plugin.Good()

{variants}

class NotInstalled(suite_plugin.Good):
    """The same class, but declared by no entry point."""

    type: Literal["suite-not-installed"] = "suite-not-installed"


class TestNotInstalled(Quick):
    @pytest.fixture
    def infrastructure(self):
        return NotInstalled()


class TestNoFixture(InfrastructureConformance):
    pass


def test_fixtures_of_the_plugin(shipway_project, shipway_registry, shipway_run):
    assert isinstance(shipway_project, ShipwayProject)
    assert shipway_registry.resolve("suite-good") is suite_plugin.Good
    job = shipway_project.write_flow(
        "mine", "from shipway import flow\\n@flow\\ndef mine(x: int):\\n    print(x * 2)\\n", x=21
    )
    finished = shipway_run(suite_plugin.Good(), job)
    assert finished.result.status_code == 0
    assert finished.output.text("stdout") == "42\\n"
    assert finished.identifier == finished.result.identifier
'''

VARIANT = """
class Test{name}(Quick):
    {settings}

    @pytest.fixture
    def infrastructure(self):
        return suite_plugin.{name}()
"""

# Class attributes of a variant's test class, where the defaults do not fit.
VARIANT_SETTINGS = {
    # The run is never stopped: fail after a short margin instead of a minute.
    "NeverForces": "kill_margin_seconds = 3.0",
    "WaitsForChildren": "leftover_margin_seconds = 5.0",
    "HoldsOutput": "first_line_timeout_seconds = 3.0",
    "CancelLeavesRun": "leftover_margin_seconds = 3.0",
}

# Which test of the suite each broken variant must fail (and only that one is run).
BROKEN: dict[str, str] = {
    "Undocumented": "test_schema_is_valid_and_every_field_is_documented",
    "ExtraAllowed": "test_unknown_fields_are_rejected",
    "IgnoresEnv": "test_parameters_and_env_arrive",
    "EnvOverHandover": "test_the_job_handover_wins_over_an_env_entry_of_the_same_name",
    "SwallowsFailure": "test_failing_flow_gives_a_non_zero_status",
    "KillsAtOnce": "test_kill_from_another_process_stops_the_run_within_the_grace_period",
    "NeverForces": "test_kill_forces_a_run_that_ignores_the_graceful_stop",
    "InlineJob": "test_a_job_too_large_for_an_environment_variable_arrives_intact",
    "WaitsForChildren": "test_a_run_ends_when_its_flow_returns_and_leaves_nothing_behind",
    "NoisyPreview": "test_preview_has_no_side_effects or test_preview_masks_secrets",
    "HoldsOutput": "test_output_arrives_while_the_flow_runs "
    "or test_kill_from_another_process_stops_the_run_within_the_grace_period",
    "CancelLeavesRun": "test_cancelling_run_stops_what_it_started",
    "IgnoresLocation": "test_kill_of_a_run_elsewhere_is_not_available",
    "NotInstalled": "test_type_is_discovered_through_its_entry_point "
    "or test_plugin_is_listed_as_loaded",
    "NoFixture": "test_hello_flow_runs_and_its_output_arrives",
}

SUITE_TESTS = sorted(name for name in dir(InfrastructureConformance) if name.startswith("test_"))


def _install_plugin(site: Path) -> None:
    site.mkdir(parents=True)
    (site / "suite_plugin.py").write_text(PLUGIN_MODULE, encoding="utf-8")
    info = site / "shipway_suite_fixtures-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: shipway-suite-fixtures\nVersion: 1.0\n", encoding="utf-8"
    )
    points = "".join(f"{name} = suite_plugin\n" for name in TYPE_NAMES.values())
    (info / "entry_points.txt").write_text(f"[{INFRASTRUCTURE_GROUP}]\n{points}", encoding="utf-8")


def _pytest(tmp_path: Path, *args: str, plugin: bool = True) -> subprocess.CompletedProcess[str]:
    site = tmp_path / "site"
    if not site.exists():
        _install_plugin(site)
        variants = "".join(
            VARIANT.format(name=name, settings=VARIANT_SETTINGS.get(name, "pass"))
            for name in TYPE_NAMES
            if name != "Good"
        )
        module = TEST_MODULE.replace("{variants}", variants)
        module = "from typing import Literal\n" + module
        (tmp_path / "test_suite_fixtures.py").write_text(module, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    env["PYTHONPATH"] = str(site)
    command = [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider"]
    if plugin:
        command += ["-p", "shipway.testing"]
    return subprocess.run(
        [*command, "--rootdir", str(tmp_path), "test_suite_fixtures.py", *args],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=PYTEST_TIMEOUT,
    )


def _outcomes(output: str) -> dict[str, str]:
    """``{"TestGood::test_x": "PASSED", ...}`` from pytest's ``-rA`` summary."""
    found = re.findall(
        r"^(PASSED|FAILED|ERROR) test_suite_fixtures\.py::(\S+)", output, re.MULTILINE
    )
    return {test: outcome for outcome, test in found}


@pytest.fixture(scope="module")
def suite_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """One pytest run: the whole suite on the good plugin, and on each broken variant
    only the test that should catch it."""
    selection = " or ".join(
        ["TestGood", "test_fixtures_of_the_plugin"]
        + [f"(Test{name} and ({tests}))" for name, tests in BROKEN.items()]
    )
    return _pytest(tmp_path_factory.mktemp("suite"), "-k", selection)


# -- the standard flows -----------------------------------------------------------------


def test_the_standard_flows_ship_inside_the_package() -> None:
    directory = standard_flows_dir()

    assert directory.is_dir()
    assert directory.parent == Path(shipway.testing.__file__).parent
    assert sorted(p.stem for p in directory.glob("*.py")) == sorted(STANDARD_FLOWS)


@pytest.mark.usefixtures("isolated_imports")
@pytest.mark.parametrize("name", STANDARD_FLOWS)
def test_each_standard_flow_loads_from_a_written_project(tmp_path: Path, name: str) -> None:
    project = write_standard_project(tmp_path / "image-root")
    job = FlowJobs(working_dir=str(project)).job(name)

    flow = load_flow(job.entrypoint, job.working_dir)

    assert job.entrypoint == f"flows/{name}.py:{name}"
    assert flow.name == name


def test_flow_jobs_name_the_working_directory_as_the_platform_sees_it(tmp_path: Path) -> None:
    in_image = FlowJobs()  # the platform's default working directory
    local = ShipwayProject.create(tmp_path / "p")

    assert in_image.hello("x").working_dir is None
    assert in_image.echo("hi", count=2).parameters == {"message": "hi", "count": 2}
    assert in_image.sleeper(5).parameters == {"seconds": 5}
    assert local.jobs.failing().working_dir == str(local.path)
    assert (local.path / "flows" / "sleeper.py").is_file()


# -- the pytest plugin is opt-in ---------------------------------------------------------


def test_installing_shipway_registers_no_pytest_plugin() -> None:
    registered = [ep for ep in entry_points(group="pytest11") if "shipway" in ep.value]

    assert registered == []


def test_without_the_plugin_its_fixtures_are_not_there(tmp_path: Path) -> None:
    result = _pytest(tmp_path, "-k", "test_fixtures_of_the_plugin", plugin=False)

    assert result.returncode == 1, result.stdout
    assert "fixture 'shipway_project' not found" in result.stdout


# -- the conformance suite ---------------------------------------------------------------


def test_a_plugin_keeping_the_contract_passes_every_check(
    suite_run: subprocess.CompletedProcess[str],
) -> None:
    outcomes = _outcomes(suite_run.stdout)

    # The good plugin does not re-attach: that check is skipped, all others pass.
    reattach = "test_reattach_follows_a_run_another_process_started"
    expected = {f"TestGood::{name}": "PASSED" for name in SUITE_TESTS if name != reattach}
    assert "SKIPPED [1] " in suite_run.stdout and "does not declare ReattachesRuns" in (
        suite_run.stdout
    )
    assert expected == {
        test: outcome for test, outcome in outcomes.items() if test.startswith("TestGood::")
    }, suite_run.stdout[-6000:]
    assert len(SUITE_TESTS) >= 10


def test_the_plugins_fixtures_work(suite_run: subprocess.CompletedProcess[str]) -> None:
    assert _outcomes(suite_run.stdout).get("test_fixtures_of_the_plugin") == "PASSED", (
        suite_run.stdout[-4000:]
    )


def test_the_report_header_names_shipway_and_the_installed_types(
    suite_run: subprocess.CompletedProcess[str],
) -> None:
    header = re.search(r"^shipway \S+; infrastructure types: (.*)$", suite_run.stdout, re.M)

    assert header is not None, suite_run.stdout[:2000]
    assert "suite-good" in header.group(1).split(", ")


@pytest.mark.parametrize("variant", sorted(BROKEN))
def test_each_broken_variant_fails_the_check_for_what_it_breaks(
    suite_run: subprocess.CompletedProcess[str], variant: str
) -> None:
    outcomes = {
        test.partition("::")[2]: outcome
        for test, outcome in _outcomes(suite_run.stdout).items()
        if test.startswith(f"Test{variant}::")
    }
    expected = {name.strip(): "FAILED" for name in BROKEN[variant].split(" or ")}
    if variant == "NoFixture":  # the fixture itself fails: an error, with instructions
        expected = dict.fromkeys(expected, "ERROR")

    assert outcomes == expected, suite_run.stdout[-6000:]


@pytest.mark.parametrize(
    ("variant", "explanation"),
    [
        ("Undocumented", "fields without a description: region"),
        ("ExtraAllowed", "ExtraAllowed accepted an unknown field"),
        ("EnvOverHandover", "replaced the job the run was given: the hand-over must win"),
        ("KillsAtOnce", "the flow's cleanup did not run"),
        ("NeverForces", "then by force (SIGKILL or the platform's equivalent)"),
        ("InlineJob", "a job with a 1 MiB parameter did not arrive intact"),
        ("WaitsForChildren", "after its flow returned, held up by a process the flow started"),
        ("NoisyPreview", "preview produced run output"),
        ("HoldsOutput", "the flow's first line never arrived: run() must forward output"),
        ("HoldsOutput", "output must arrive while the flow runs"),
        ("CancelLeavesRun", "yet what it started still runs"),
        ("IgnoresLocation", "instead of raising InfrastructureNotAvailable"),
        ("NoisyPreview", "preview shows the value of a secret variable"),
        ("NotInstalled", "no entry point named 'suite-not-installed'"),
        ("NoFixture", "must provide the 'infrastructure' fixture"),
    ],
)
def test_failures_say_what_is_wrong(
    suite_run: subprocess.CompletedProcess[str], variant: str, explanation: str
) -> None:
    assert explanation in suite_run.stdout, suite_run.stdout[-6000:]


def test_a_preview_that_starts_a_process_is_caught() -> None:
    """The default platform snapshot sees this process's children."""

    class Probe(InfrastructureConformance):
        pass

    probe = Probe()
    before = set(probe.platform_snapshot(None))  # type: ignore[arg-type]
    child = subprocess.Popen(["sleep", "30"])
    try:
        after = set(probe.platform_snapshot(None))  # type: ignore[arg-type]
    finally:
        child.kill()
        child.wait()

    assert after - before == {child.pid}


def test_the_default_leftover_search_finds_a_process_by_its_command_line() -> None:
    class Probe(InfrastructureConformance):
        pass

    marker = "shipway-suite-probe-7c1d"
    assert not Probe().leftover_processes(None, marker)  # type: ignore[arg-type]
    command = [sys.executable, "-c", "import time; time.sleep(30)", marker]
    child = subprocess.Popen(command)
    try:
        deadline = time.monotonic() + 10  # an exec just begun has no command line yet
        while not (found := Probe().leftover_processes(None, marker)):  # type: ignore[arg-type]
            assert time.monotonic() < deadline, "the child was never found"
            time.sleep(0.02)
    finally:
        child.kill()
        child.wait()

    assert found == {f"{child.pid}: {' '.join(command)}"}


def test_conformance_suite_has_a_docstring_for_every_hook_a_subclass_may_override() -> None:
    for name in (
        "infrastructure",
        "flow_jobs",
        "platform_snapshot",
        "leftover_processes",
        "kill_command",
        "start_command",
        "identifier_elsewhere",
    ):
        member = getattr(InfrastructureConformance, name)
        doc = getattr(member, "__doc__", None) or getattr(
            getattr(member, "__wrapped__", None), "__doc__", None
        )
        assert doc and doc.strip(), name
    assert textwrap.dedent(InfrastructureConformance.__doc__ or "").strip()


def test_every_check_and_setting_is_described_in_the_docs() -> None:
    """docs/testing-plugins.md has a row for each check and each tuning attribute."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "testing-plugins.md").read_text()
    rows = set(re.findall(r"^\| `(\w+)` \|", page, re.MULTILINE))
    settings = [
        name
        for name in dir(InfrastructureConformance)
        if not name.startswith("_")
        and isinstance(getattr(InfrastructureConformance, name), (bool, int, float, str))
    ]

    assert not set(SUITE_TESTS) - rows
    assert settings and not set(settings) - rows


def test_every_exported_name_exists() -> None:
    missing = [name for name in shipway.testing.__all__ if not hasattr(shipway.testing, name)]

    assert missing == []
    assert "InfrastructureConformance" in shipway.testing.__all__


class _Quick(Infrastructure):
    """Reports an identifier, waits a moment, and ends with status 7: nothing runs."""

    type: Literal["suite-quick"] = "suite-quick"

    async def run(
        self, job: Job, task_status: TaskStatus[str] = anyio.TASK_STATUS_IGNORED
    ) -> InfrastructureResult:
        task_status.started("here:1")
        await anyio.sleep(0.1)
        return InfrastructureResult("here:1", 7)

    async def kill(self, identifier: str, grace_seconds: int = 30) -> None:
        raise NotImplementedError

    def preview(self, job: Job | None = None) -> str:
        return "nothing"


def test_a_run_handle_has_no_result_until_run_returns_and_wait_gives_it() -> None:
    async def scenario() -> tuple[InfrastructureResult | None, bool, InfrastructureResult, bool]:
        async with started(_Quick(), Job(entrypoint="flows/x.py:x")) as handle:
            before, ended_before = handle.result, handle.ended
            result = await handle.wait(timeout=10)
        return before, ended_before, result, handle.ended

    before, ended_before, result, ended = anyio.run(scenario)

    assert (before, ended_before) == (None, False)
    assert result.status_code == 7 and ended
