"""Every user mistake: one clear message on stderr saying what and where, a non-zero
exit, and no Python traceback unless ``--debug`` asks for one."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from _e2e_helpers import Shipway, run_shipway, write_file

BAD_YAML = """
infrastructure:
  local:
    type: process
    workdir: /tmp
  flaky:
    type: process
    stream_output: maybe
deployments:
  - name: unknown-infra
    flow: flows/hello.py:hello_world
    infrastructure: dockr
  - name: unknown-field
    flow: flows/hello.py:hello_world
    infrastructure: local
  - name: mistyped-field
    flow: flows/hello.py:hello_world
    infrastructure: flaky
  - name: no-flow-file
    flow: flows/nope.py:hello_world
  - name: no-function
    flow: flows/hello.py:nope
  - name: broken-plugin
    flow: flows/hello.py:hello_world
    infrastructure: broken
  - name: bad-env-name
    flow: flows/hello.py:hello_world
    overrides: {env: {"LOG=LEVEL": debug}}
"""

TYPO_YAML = """
deployments:
  - name: typo
    flow: flows/hello.py:hello_world
    paramaters: {name: x}
"""

MALFORMED_YAML = """
deployments:
  - name: x
    flow: flows/hello.py:hello_world
   infrastructure: process
"""

BAD_PYTHON_FILE = """
from shipway import Deployment
from shipway.infrastructure import Process

from flows.hello import hello_world

Deployment(name="example", flow=hello_world, infrastructure=Process(workdir="/tmp"))
"""


@dataclasses.dataclass(frozen=True)
class Mistake:
    """A command that must fail, and what its one message must contain."""

    args: tuple[str, ...]
    expected: tuple[str, ...]
    exit_code: int = 2
    # Raised in the shipway process itself (not reported by the flow run's engine):
    # --debug shows its traceback.
    in_cli: bool = True
    broken_plugin: bool = False


MISTAKES = {
    "unknown infrastructure name": Mistake(
        ("run", "unknown-infra", "-f", "bad.yaml"),
        (
            "bad.yaml:11",
            "unknown infrastructure 'dockr'",
            "Infrastructure blocks defined in the file: local, flaky",
            "Installed infrastructure types: ",
        ),
    ),
    "unknown infrastructure field": Mistake(
        ("run", "unknown-field", "-f", "bad.yaml"),
        ("bad.yaml:4", "infrastructure.local.workdir", "unknown field", "working_dir"),
    ),
    "mistyped infrastructure field": Mistake(
        ("run", "mistyped-field", "-f", "bad.yaml"),
        ("bad.yaml:7", "infrastructure.flaky.stream_output", "boolean", "'maybe'"),
    ),
    "unknown deployment field": Mistake(
        ("run", "typo", "-f", "typo.yaml"),
        ("typo.yaml:4", "deployments[0].paramaters", "unknown field", "parameters"),
    ),
    "unknown field in a python deployment file": Mistake(
        ("run", "example", "-f", "bad_deployments.py"),
        ("bad_deployments.py:6", "workdir", "unknown field"),
    ),
    "unknown field given by --override": Mistake(
        ("run", "example", "--override", "workdir=/tmp"),
        ("--override", "workdir", "unknown field"),
    ),
    "malformed yaml": Mistake(
        ("run", "x", "-f", "malformed.yaml"),
        ("malformed.yaml:4", "invalid YAML"),
    ),
    "missing deployment name": Mistake(
        ("run", "nope"),
        ("no deployment named 'nope'", "Known deployments: example, example-debug"),
    ),
    "missing deployment name in inspect": Mistake(
        ("deployment", "inspect", "nope"),
        ("no deployment named 'nope'", "example-debug"),
    ),
    "flow file not found": Mistake(
        ("run", "no-flow-file", "-f", "bad.yaml"),
        ("flow file 'flows/nope.py' not found",),
        exit_code=3,
        in_cli=False,
    ),
    "function not found": Mistake(
        ("run", "no-function", "-f", "bad.yaml"),
        ("'nope' not found in flows/hello.py", "hello_world"),
        exit_code=3,
        in_cli=False,
    ),
    "parameters not matching": Mistake(
        ("run", "example", "-p", "nmae=typo"),
        ("unknown parameter 'nmae'", "name"),
        exit_code=3,
        in_cli=False,
    ),
    "plugin that fails to import": Mistake(
        ("run", "broken-plugin", "-f", "bad.yaml"),
        ("plugin 'broken'", "broken-plugin 0.1", "RuntimeError: broken on purpose", "bad.yaml:"),
        broken_plugin=True,
    ),
    "environment variable name no process accepts": Mistake(
        ("run", "bad-env-name", "-f", "bad.yaml"),
        ("bad.yaml:27", "'LOG=LEVEL' cannot be an environment variable name"),
    ),
    "file that is not UTF-8": Mistake(
        ("run", "example", "-f", "latin1.yaml"),
        ("latin1.yaml:2", "not UTF-8 text"),
    ),
    "missing -f file": Mistake(
        ("run", "example", "-f", "missing.yaml"),
        ("deployment file 'missing.yaml' not found",),
    ),
    "bad --override format": Mistake(
        ("run", "example", "--override", "novalue"),
        ("--override 'novalue' must look like KEY=VALUE",),
    ),
    "bad --params json": Mistake(
        ("run", "example", "--params", "{name: x"),
        ("--params is not valid JSON",),
    ),
    "--params not an object": Mistake(
        ("run", "example", "--params", "[1, 2]"),
        ("--params must be a JSON object",),
    ),
    "bad -p format": Mistake(
        ("run", "example", "-p", "name"),
        ("-p 'name' must look like KEY=VALUE",),
    ),
    "unknown type in infra schema": Mistake(
        ("infra", "schema", "dockr"),
        ("unknown infrastructure 'dockr'", "Installed infrastructure types: "),
    ),
    "unknown type in infra preview": Mistake(
        ("infra", "preview", "unknown-infra", "-f", "bad.yaml"),
        ("bad.yaml:11", "unknown infrastructure 'dockr'"),
    ),
}


@pytest.fixture
def bad_files(project: Path) -> Path:
    write_file(project, "bad.yaml", BAD_YAML)
    write_file(project, "typo.yaml", TYPO_YAML)
    write_file(project, "malformed.yaml", MALFORMED_YAML)
    write_file(project, "bad_deployments.py", BAD_PYTHON_FILE)
    (project / "latin1.yaml").write_bytes(b"deployments:\n  - name: caf\xe9\n")
    return project


def _environment(mistake: Mistake, broken_plugin_site: Path) -> dict[str, str]:
    return {"PYTHONPATH": str(broken_plugin_site)} if mistake.broken_plugin else {}


@pytest.mark.parametrize("mistake", MISTAKES.values(), ids=list(MISTAKES))
def test_one_clear_message_and_no_traceback(
    shipway: Shipway, bad_files: Path, broken_plugin_site: Path, mistake: Mistake
) -> None:
    result = shipway(*mistake.args, env=_environment(mistake, broken_plugin_site))

    assert result.returncode == mistake.exit_code, result.stderr
    for text in mistake.expected:
        assert text in result.stderr, f"{text!r} missing from:\n{result.stderr}"
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    if mistake.in_cli:
        error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
        assert result.stderr.startswith("Error: ")
        assert len(error_lines) == 1
    else:  # reported once by the engine, then summed up by `shipway run`
        assert result.stderr.count("shipway.engine: cannot start") == 1
        assert "could not start" in result.stderr


# One of each kind of failure raised in the shipway process (every one of them goes
# through the same handler in shipway.cli.main).
DEBUGGED = [
    "unknown infrastructure name",
    "unknown field in a python deployment file",
    "malformed yaml",
    "plugin that fails to import",
    "bad --params json",
]


@pytest.mark.parametrize("mistake", [MISTAKES[name] for name in DEBUGGED], ids=DEBUGGED)
def test_debug_shows_the_traceback(
    shipway: Shipway, bad_files: Path, broken_plugin_site: Path, mistake: Mistake
) -> None:
    result = shipway(*mistake.args, "--debug", env=_environment(mistake, broken_plugin_site))

    assert result.returncode == mistake.exit_code
    assert "Traceback (most recent call last)" in result.stderr
    assert mistake.expected[0] in result.stderr


@pytest.mark.parametrize(
    "mistake",
    [MISTAKES[name] for name in ("flow file not found", "parameters not matching")],
    ids=["flow file not found", "parameters not matching"],
)
def test_debug_reaches_the_engine(shipway: Shipway, bad_files: Path, mistake: Mistake) -> None:
    result = shipway(*mistake.args, "--debug")

    assert result.returncode == mistake.exit_code
    assert "Traceback (most recent call last)" in result.stderr
    assert mistake.expected[0] in result.stderr


def test_debug_before_the_command_and_in_the_environment(shipway: Shipway) -> None:
    before = shipway("--debug", "run", "nope")
    from_env = shipway("run", "nope", env={"SHIPWAY_DEBUG": "1"})

    for result in (before, from_env):
        assert result.returncode == 2
        assert "Traceback (most recent call last)" in result.stderr
        assert "no deployment named 'nope'" in result.stderr


def test_missing_default_file_says_how_to_pass_one(tmp_path: Path) -> None:
    result = run_shipway("run", "example", cwd=tmp_path)

    assert result.returncode == 2
    assert "deployment file 'shipway.yaml' not found" in result.stderr
    assert "-f FILE" in result.stderr
    assert "Traceback" not in result.stderr


def test_flow_module_raising_on_import_shows_the_users_traceback(
    shipway: Shipway, project: Path
) -> None:
    # Not a shipway mistake: the user's own code failed, so their traceback is the message.
    write_file(project, "flows/broken_flow.py", "import module_that_is_not_there_xyz\n")
    write_file(
        project,
        "import.yaml",
        """
        deployments:
          - name: broken
            flow: flows/broken_flow.py:anything
        """,
    )

    result = shipway("run", "broken", "-f", "import.yaml")

    assert result.returncode == 3
    assert "flows/broken_flow.py" in result.stderr
    assert "No module named 'module_that_is_not_there_xyz'" in result.stderr
    assert "shipway/" not in result.stderr.partition("Traceback")[2].partition("shipway.engine")[0]


def test_unknown_command_and_missing_argument_are_usage_errors(shipway: Shipway) -> None:
    unknown = shipway("launch", "example")
    missing = shipway("run")

    assert unknown.returncode == 2
    assert "No such command 'launch'" in unknown.stderr
    assert missing.returncode == 2
    assert "Missing argument 'NAME'" in missing.stderr
    assert "Traceback" not in unknown.stderr + missing.stderr
