"""Every hook spec is documented in docs/hooks.md under its own heading, with its exact
signature and the version it exists since, and has a test of its own named
``test_hook_<hook name>`` (datasette's rule): adding a hook without all of them fails here.

The test is found by parsing the test modules, not by searching their text: a name
mentioned in a comment, a string or a list of hooks is not a test of the hook.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest
from packaging.version import InvalidVersion, Version

from shipway import hookspecs

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
HOOK_DOCS = ROOT / "docs" / "hooks.md"
HOOKS = sorted(name for name in vars(hookspecs) if name.startswith("shipway_"))

VERSION_ADDED = re.compile(r"^\.\. versionadded:: (\S+)$", re.MULTILINE)
SINCE = re.compile(r"\*Since (\S+)\.\*")


def _signature_line(name: str) -> str:
    """``def name(args) -> returns:`` exactly as written in shipway/hookspecs.py."""
    tree = ast.parse(inspect.getsource(hookspecs))
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    return f"def {name}({ast.unparse(node.args)}){returns}:"


def _hook_sections() -> dict[str, str]:
    """Each ``## shipway_…`` heading of docs/hooks.md -> the text up to the next heading."""
    text = HOOK_DOCS.read_text(encoding="utf-8")
    parts = re.split(r"^## (shipway_\w+)\n", text, flags=re.MULTILINE)
    return {
        name: re.split(r"^## ", body, flags=re.MULTILINE)[0]
        for name, body in zip(parts[1::2], parts[2::2], strict=True)
    }


def _versions_added(name: str) -> list[str]:
    return VERSION_ADDED.findall(inspect.getdoc(getattr(hookspecs, name)) or "")


def _test_function_names(tests: Path) -> set[str]:
    """The names of the functions pytest collects as tests under ``tests``: module-level
    functions and methods of ``Test*`` classes in ``test_*.py`` and ``*_test.py``."""
    names: set[str] = set()
    paths = {*tests.rglob("test_*.py"), *tests.rglob("*_test.py")}
    for path in sorted(paths):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in tree.body:
            members = (
                node.body
                if isinstance(node, ast.ClassDef) and node.name.startswith("Test")
                else [node]
            )
            names.update(
                member.name
                for member in members
                if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef))
                and member.name.startswith("test")
            )
    return names


def test_there_are_hooks_to_check() -> None:
    assert "shipway_infrastructure_types" in HOOKS


# -- the reference page ------------------------------------------------------------------


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_heading_with_its_exact_signature(name: str) -> None:
    section = _hook_sections().get(name)
    assert section is not None, f"docs/hooks.md has no '## {name}' heading"
    documented = re.match(r"\s*(?:\*Since [^\n]*\n\s*)?```python\n(def [^\n]+)\n```", section)
    assert documented is not None, f"'## {name}' does not open with its signature"
    assert documented.group(1) == _signature_line(name)


def test_every_hook_heading_is_a_hook_spec() -> None:
    assert sorted(_hook_sections()) == HOOKS


# -- since when each hook exists ---------------------------------------------------------


@pytest.mark.parametrize("name", HOOKS)
def test_hook_docstring_says_since_when_it_exists(name: str) -> None:
    versions = _versions_added(name)
    assert len(versions) == 1, f"{name}'s docstring needs one '.. versionadded:: X.Y.Z' line"
    try:
        Version(versions[0])
    except InvalidVersion:
        pytest.fail(f"{name}: '.. versionadded:: {versions[0]}' is not a version")


@pytest.mark.parametrize("name", HOOKS)
def test_hook_heading_says_since_when_it_exists(name: str) -> None:
    section = _hook_sections().get(name, "")
    first_paragraph = section.strip().split("\n\n")[0]
    since = SINCE.fullmatch(first_paragraph)
    assert since is not None, f"'## {name}' in docs/hooks.md must open with '*Since X.Y.Z.*'"
    assert [since.group(1)] == _versions_added(name), (
        f"docs/hooks.md says {name} exists since {since.group(1)}, "
        f"its docstring says {_versions_added(name)}"
    )


# -- a test of its own -------------------------------------------------------------------


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_test_of_its_own(name: str) -> None:
    has_its_test = f"test_hook_{name}" in _test_function_names(TESTS)
    assert has_its_test, (
        f"no test function is named test_hook_{name}: write one under tests/ that "
        f"registers a real plugin implementing {name} and asserts its effect"
    )


def test_only_collected_test_functions_count(tmp_path: Path) -> None:
    """The rule can fail: a hook that is only mentioned, or whose test pytest would not
    collect, has no test of its own."""
    (tmp_path / "test_mentions.py").write_text(
        '''
HOOKS = ["test_hook_shipway_listed"]  # test_hook_shipway_commented

def test_shipway_mentioned():
    """test_hook_shipway_in_a_docstring"""

class TestHooks:
    async def test_hook_shipway_in_a_test_class(self): ...

class Helpers:
    def test_hook_shipway_in_a_helper_class(self): ...
''',
        encoding="utf-8",
    )
    (tmp_path / "helpers.py").write_text("def test_hook_shipway_not_collected(): ...\n")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "test_deeper.py").write_text("def test_hook_shipway_deeper(): ...\n")

    assert {name for name in _test_function_names(tmp_path) if name.startswith("test_hook_")} == {
        "test_hook_shipway_in_a_test_class",
        "test_hook_shipway_deeper",
    }
