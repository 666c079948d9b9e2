"""Every hook spec is documented in docs/hooks.md under its own heading, with its exact
signature, and is exercised by a test: adding a hook without both fails here."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from shipway import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOK_DOCS = ROOT / "docs" / "hooks.md"
HOOKS = sorted(name for name in vars(hookspecs) if name.startswith("shipway_"))


def _signature_line(name: str) -> str:
    """``def name(args) -> returns:`` exactly as written in shipway/hookspecs.py."""
    tree = ast.parse(inspect.getsource(hookspecs))
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    return f"def {name}({ast.unparse(node.args)}){returns}:"


def _documented_signature(name: str) -> str | None:
    text = HOOK_DOCS.read_text(encoding="utf-8")
    match = re.search(rf"^## {name}\n+```python\n(def [^\n]+)\n```", text, re.MULTILINE)
    return match.group(1) if match else None


def test_there_are_hooks_to_check() -> None:
    assert "shipway_infrastructure_types" in HOOKS


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_heading_with_its_exact_signature(name: str) -> None:
    documented = _documented_signature(name)
    assert documented is not None, f"docs/hooks.md has no '## {name}' heading with its signature"
    assert documented == _signature_line(name)


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_test_of_its_own(name: str) -> None:
    tests = [
        path
        for path in (ROOT / "tests").rglob("test_*.py")
        if path.resolve() != Path(__file__).resolve() and name in path.read_text(encoding="utf-8")
    ]
    assert tests, f"no test mentions {name}"
