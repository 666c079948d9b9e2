"""`deployment apply` when the database refuses a write half-way: nothing is applied,
and the message says which statement failed and why, never the values it carried."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _faults import REFUSAL, refuse_deployment

from shipway.store import Store

SECRET = "planted-secret-4f1c9e"

THREE = f"""\
deployments:
  - name: first
    flow: flows/hello.py:hello
    infrastructure: {{type: process, env: {{API_TOKEN: {SECRET}}}}}
  - name: second
    flow: flows/hello.py:hello
    infrastructure: {{type: process, env: {{API_TOKEN: {SECRET}}}}}
  - name: third
    flow: flows/hello.py:hello
    infrastructure: {{type: process, env: {{API_TOKEN: {SECRET}}}}}
"""


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_apply_refused_on_the_third_applies_none_and_prints_no_values(
    store: Store, store_url: str, project: Path, debug: bool
) -> None:
    """Issue 15, item 3: the first two deployments stayed applied, and the message
    (an unexpected error) carried the statement's parameters, the secret among them."""
    (project / "shipway.yaml").write_text(THREE)
    refuse_deployment(store_url, "third")

    result = subprocess.run(
        [sys.executable, "-c", "from shipway.cli import main; main()",
         *(["--debug"] if debug else []), "deployment", "apply"],
        cwd=project, capture_output=True, text=True, timeout=60,
        env={**os.environ, "SHIPWAY_DATABASE_URL": store_url, "SHIPWAY_HOME": str(project)},
    )  # fmt: skip

    assert result.returncode == 1, result.stderr
    assert store.list_deployments() == []  # all or nothing
    assert SECRET not in result.stdout + result.stderr
    assert "[parameters" not in result.stderr
    assert "failed on INSERT INTO deployments" in result.stderr, result.stderr
    assert REFUSAL in result.stderr
    assert ("Traceback" in result.stderr) is debug
