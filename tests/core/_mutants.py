"""Mutants of the process plugin, and a run of the conformance suite against each.

Each mutant is a copy of ``plugins/process/src/shipway_process`` installed under a name
of its own (distribution ``shipway-mutant-<slug>``, module ``shipway_mutant_<slug>``,
type ``mutant-<slug>``) into a temporary site directory, with one textual patch that
breaks one rule of the contract. A patch that no longer applies (the process plugin
was changed) is an error, never a mutant silently left intact.

The suite runs as a plugin author runs it: a test module subclassing
``InfrastructureConformance`` in a separate pytest process, which finds each copy
through its entry point. A mutant runs the checks of the concern its rule belongs to
(``shipway.testing._checks_<concern>``); the unmutated copy runs every check.
Used by tests/core/test_conformance_mutants.py and bench/conformance_mutants.py.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from shipway.plugins import INFRASTRUCTURE_GROUP
from shipway.testing._checks_configuration import ConfigurationChecks
from shipway.testing._checks_preview import PreviewChecks
from shipway.testing._checks_reattach import ReattachChecks
from shipway.testing._checks_running import RunningChecks
from shipway.testing._checks_stopping import StoppingChecks
from shipway.testing._suite import ConformanceBase

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_SOURCE = ROOT / "plugins" / "process" / "src" / "shipway_process"
PRISTINE = "pristine"
# How many pytest processes share the mutants: their checks mostly wait for flows.
SESSIONS = 4
SESSION_TIMEOUT = 900

CONCERNS: dict[str, type[ConformanceBase]] = {
    "configuration": ConfigurationChecks,
    "running": RunningChecks,
    "stopping": StoppingChecks,
    "preview": PreviewChecks,
    "reattach": ReattachChecks,
}


@dataclasses.dataclass(frozen=True)
class Patch:
    """Replace ``old`` (which must occur exactly once) with ``new`` in ``file``."""

    file: str
    old: str
    new: str


@dataclasses.dataclass(frozen=True)
class Mutation:
    slug: str
    rule: str
    concern: str
    patches: tuple[Patch, ...]


def _patch(file: str, old: str, new: str) -> tuple[Patch, ...]:
    return (Patch(file, old, new),)


MUTATIONS: tuple[Mutation, ...] = (
    Mutation(
        "location",
        "kill checks where the run lives",
        "stopping",
        _patch(
            "_process.py",
            "    if host != socket.gethostname():\n",
            "    if False:  # mutant: never looks at the host\n",
        ),
    ),
    Mutation(
        "cancel",
        "a cancelled run() stops what it started",
        "stopping",
        _patch(
            "_process.py",
            "                with anyio.CancelScope(shield=True):\n"
            "                    await self._forward_while(\n"
            "                        pipes, functools.partial(_stop_quietly, process.pid, "
            "_CANCEL_GRACE_SECONDS)\n"
            "                    )\n"
            "                    await process.wait()\n",
            "                with anyio.CancelScope(shield=True):  # mutant: leaves it running\n",
        ),
    ),
    Mutation(
        "streaming",
        "output arrives as it is printed",
        "running",
        _patch(
            "_process.py",
            "            env[EXIT_STATUS_FILE_VAR] = str(files.exit_status)\n        return env\n",
            "            env[EXIT_STATUS_FILE_VAR] = str(files.exit_status)\n"
            '        env.pop("PYTHONUNBUFFERED", None)  # mutant: block-buffered output\n'
            "        return env\n",
        ),
    ),
    Mutation(
        "escalation",
        "kill forces the run once the grace period is over",
        "stopping",
        _patch(
            "_groups.py",
            "        os.killpg(pgid, signal.SIGKILL)\n",
            "        os.killpg(pgid, 0)  # mutant: never forces\n",
        ),
    ),
    Mutation(
        "graceful",
        "kill stops gracefully first",
        "stopping",
        _patch(
            "_groups.py",
            "        os.killpg(pgid, signal.SIGTERM)\n",
            "        os.killpg(pgid, signal.SIGKILL)  # mutant: no graceful stop\n",
        ),
    ),
    Mutation(
        "not-found",
        "kill of an ended run raises InfrastructureNotFound",
        "stopping",
        _patch(
            "_process.py",
            "            await stop_leftovers(pid, grace_seconds)\n            raise\n",
            "            await stop_leftovers(pid, grace_seconds)\n"
            "            return  # mutant: an ended run reads as stopped\n",
        ),
    ),
    Mutation(
        "identifier",
        "kill understands the identifier run() reports",
        "stopping",
        _patch(
            "_process.py",
            'identifier = f"{socket.gethostname()}:{process.pid}"',
            'identifier = f"{socket.gethostname()}/{process.pid}"  # mutant',
        ),
    ),
    Mutation(
        "stderr",
        "stderr is kept apart from stdout",
        "running",
        _patch(
            "_process.py",
            "readers.start_soon(self.forward_output, chunks, name)",
            'readers.start_soon(self.forward_output, chunks, "stdout")  # mutant',
        ),
    ),
    Mutation(
        "exit-status",
        "the result carries the engine's exit status",
        "running",
        _patch(
            "_process.py",
            "    code = await process.wait()\n",
            "    await process.wait()\n    code = 0  # mutant: every run succeeds\n",
        ),
    ),
    Mutation(
        "handover",
        "the job hand-over wins over an env entry of the same name",
        "running",
        _patch(
            "_process.py",
            "environment = self._environment(handover, os.environ, files)",
            "environment = self._environment({**handover, **self.env}, os.environ, files)",
        ),
    ),
    Mutation(
        "preview",
        "preview has no side effects",
        "preview",
        _patch(
            "_process.py",
            "        job = self.preview_job(job)\n",
            "        job = self.preview_job(job)\n"
            '        subprocess.Popen(["sleep", "3"])  # mutant: starts something\n',
        ),
    ),
    Mutation(
        "unknown-fields",
        "unknown fields are rejected",
        "configuration",
        (
            Patch(
                "_process.py",
                "from pydantic import Field, model_validator\n",
                "from pydantic import ConfigDict, Field, model_validator\n",
            ),
            Patch(
                "_process.py",
                "    stream_output: bool = Field(\n",
                '    model_config = ConfigDict(extra="ignore")  # mutant: typos pass\n'
                "    stream_output: bool = Field(\n",
            ),
        ),
    ),
    Mutation(
        "reattach-status",
        "a re-attached run reports its real exit status",
        "reattach",
        _patch(
            "_process.py",
            "status_code=code)\n\n    def preview(",
            "status_code=0)  # mutant\n\n    def preview(",
        ),
    ),
    Mutation(
        "leftovers",
        "what a flow leaves behind does not outlive its run",
        "stopping",
        _patch(
            "_process.py",
            "    return code, await stop_leftovers(process.pid, _LEFTOVER_GRACE_SECONDS)\n",
            "    return code, []  # mutant: leaves the flow's processes running\n",
        ),
    ),
    Mutation(
        "large-job",
        "a job too large for a variable is handed over in a file",
        "running",
        _patch(
            "_process.py",
            "with self.local_job_environment(job) as handover:",
            "with contextlib.nullcontext(self.job_environment(job)) as handover:  # mutant",
        ),
    ),
)

TEST_MODULE = '''
import pytest

from shipway.plugins import PluginPolicy, PluginRegistry
from shipway.testing import InfrastructureConformance


class Tuned(InfrastructureConformance):
    """Margins a plugin author on a fast local platform may choose."""

    kill_grace_seconds = 3
    kill_margin_seconds = 10.0
    leftover_margin_seconds = 5.0
    cancel_margin_seconds = 15.0
    first_line_timeout_seconds = 10.0
'''

TEST_CLASS = """

class Test{name}(Tuned):
    @pytest.fixture
    def infrastructure(self):
        return PluginRegistry(PluginPolicy()).resolve("{type_name}")()
"""


class PatchDoesNotApply(AssertionError):
    """The process plugin no longer holds the text a mutation replaces."""


def module_name(slug: str) -> str:
    return "shipway_mutant_" + slug.replace("-", "_")


def type_name(slug: str) -> str:
    return f"mutant-{slug}"


def class_name(slug: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_]", slug))


def install(site: Path, slug: str, patches: Sequence[Patch]) -> None:
    """Copy the process plugin into ``site`` under the mutant's names, patched."""
    module = module_name(slug)
    package = site / module
    shutil.copytree(PLUGIN_SOURCE, package, ignore=shutil.ignore_patterns("__pycache__"))
    for path in package.glob("*.py"):
        text = path.read_text(encoding="utf-8").replace("shipway_process", module)
        text = text.replace(
            'type: Literal["process"] = "process"',
            f'type: Literal["{type_name(slug)}"] = "{type_name(slug)}"',
        )
        path.write_text(text, encoding="utf-8")
    for patch in patches:
        path = package / patch.file
        text = path.read_text(encoding="utf-8")
        if text.count(patch.old) != 1:
            raise PatchDoesNotApply(
                f"mutant {slug!r}: {patch.file} holds {text.count(patch.old)} copies of "
                f"the text it replaces, not 1; update the mutation to the plugin:\n{patch.old}"
            )
        path.write_text(text.replace(patch.old, patch.new), encoding="utf-8")
    info = site / f"{module}-1.0.dist-info"
    info.mkdir()
    distribution = f"shipway-mutant-{slug}"
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        f"[{INFRASTRUCTURE_GROUP}]\n{type_name(slug)} = {module}.plugin\n", encoding="utf-8"
    )


def checks(concern: str | None) -> list[str]:
    """The suite's checks of one concern (``None``: all of them)."""
    groups = CONCERNS.values() if concern is None else [CONCERNS[concern]]
    return sorted(name for group in groups for name in vars(group) if name.startswith("test_"))


def prepare(directory: Path) -> Path:
    """Install the unmutated copy and every mutant, and write the test module."""
    site = directory / "site"
    site.mkdir(parents=True)
    install(site, PRISTINE, ())
    for mutation in MUTATIONS:
        install(site, mutation.slug, mutation.patches)
    module = TEST_MODULE + "".join(
        TEST_CLASS.format(name=class_name(slug), type_name=type_name(slug))
        for slug in [PRISTINE, *(m.slug for m in MUTATIONS)]
    )
    (directory / "test_mutants.py").write_text(module, encoding="utf-8")
    return site


def _selection(slug: str, concern: str | None) -> str:
    return f"(Test{class_name(slug)} and ({' or '.join(checks(concern))}))"


@dataclasses.dataclass(frozen=True)
class Outcome:
    slug: str
    rule: str
    results: dict[str, str]  # check -> PASSED / FAILED / ERROR (skipped: absent)

    @property
    def caught(self) -> bool:
        return any(result != "PASSED" for result in self.results.values())


def run_all(directory: Path) -> tuple[Outcome, list[Outcome], str]:
    """Run the suite on the unmutated copy (every check) and on each mutant (the checks
    of its concern), in ``SESSIONS`` pytest processes at once. Returns the copy's
    outcome, the mutants' outcomes and pytest's output.

    A mutant that got through is run once more, alone: the checks that stop runs wait
    on real processes, and ``SESSIONS`` suites at once on a loaded machine can let one
    pass by timing alone. A mutant is caught when the suite fails it in either run."""
    site = prepare(directory)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    env["PYTHONPATH"] = str(site)
    env["SHIPWAY_HOME"] = str(directory / "home")
    selections = [_selection(PRISTINE, None)] + [_selection(m.slug, m.concern) for m in MUTATIONS]
    text = _run_sessions(directory, env, selections, SESSIONS)
    mutants = [_outcome(text, m.slug, m.rule) for m in MUTATIONS]
    again = [m for m, o in zip(MUTATIONS, mutants, strict=True) if not o.caught]
    if again:
        retry = _run_sessions(directory, env, [_selection(m.slug, m.concern) for m in again], 1)
        text += "\n" + retry
        mutants = [o if o.caught else _worse(o, _outcome(retry, o.slug, o.rule)) for o in mutants]
    return _outcome(text, PRISTINE, "the unmutated copy"), mutants, text


def _run_sessions(
    directory: Path, env: dict[str, str], selections: list[str], sessions: int
) -> str:
    """pytest's output for ``selections`` run in ``sessions`` processes at once."""
    processes = []
    for index in range(sessions):
        share = selections[index::sessions]
        if not share:
            continue
        command = [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider"]
        command += ["--rootdir", str(directory), "test_mutants.py", "-k", " or ".join(share)]
        output = directory / f"session-{len(list(directory.glob('session-*.txt')))}.txt"
        with output.open("w") as sink:
            processes.append(
                (
                    subprocess.Popen(
                        command,
                        cwd=directory,
                        env=env,
                        stdin=subprocess.DEVNULL,
                        stdout=sink,
                        stderr=subprocess.STDOUT,
                    ),
                    output,
                )
            )
    texts = []
    for process, output in processes:
        try:
            process.wait(timeout=SESSION_TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        texts.append(output.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(texts)


def _outcome(text: str, slug: str, rule: str) -> Outcome:
    found = re.findall(r"^(PASSED|FAILED|ERROR) test_mutants\.py::Test(\w+)::(\w+)", text, re.M)
    results = {test: result for result, cls, test in found if cls == class_name(slug)}
    return Outcome(slug, rule, results)


def _worse(first: Outcome, second: Outcome) -> Outcome:
    """Each check's result over two runs of one mutant: failed in either is failed."""
    results = dict(first.results)
    for check, result in second.results.items():
        if result != "PASSED" or check not in results:
            results[check] = result
    return Outcome(first.slug, first.rule, results)


def score(mutants: Sequence[Outcome]) -> str:
    caught = sum(outcome.caught for outcome in mutants)
    return f"{caught}/{len(mutants)}"
