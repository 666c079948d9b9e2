"""A project whose deployment holds secrets of every kind the masking rule knows, planted
to check that nothing shows them: the CLI's commands
(tests/orchestration/agent/test_cli_masks_secrets.py) and the server's responses
(tests/server/test_api_secrets.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

API_TOKEN = "planted-api-token-4a1f"
ENCRYPTION_KEY = "planted-encryption-key-9c2e"
URL_PASSWORD = "planted-url-password-7d3b"
RUN_TOKEN = "planted-run-token-0e5a"
REFERENCED = "planted-referenced-value-66c1"
FILE_OVERRIDE = "planted-file-override-3b9d"
PLANTED = (API_TOKEN, ENCRYPTION_KEY, URL_PASSWORD, RUN_TOKEN, REFERENCED, FILE_OVERRIDE)

PROJECT = f"""\
deployments:
  - name: leaky
    flow: flows/leaky.py:leaky
    description: "mirrors https://bot:{URL_PASSWORD}@git.example.com/etl"
    infrastructure:
      type: process
      env:
        API_TOKEN: {API_TOKEN}
        ENCRYPTION_KEY: {ENCRYPTION_KEY}
        DATABASE_URL: postgresql://etl:{URL_PASSWORD}@db.internal/etl
        DB_PASSWORD: {{secret: db-password}}
    overrides: {{env: {{CLIENT_SECRET: {FILE_OVERRIDE}}}}}
"""

FLOW = """
    import os
    from shipway import flow

    @flow
    def leaky() -> None:
        names = ("API_TOKEN", "ENCRYPTION_KEY", "DATABASE_URL", "DB_PASSWORD", "RUN_TOKEN",
                 "CLIENT_SECRET")
        for name in names:
            print(f"{name} is {os.environ.get(name)}", flush=True)
"""


@pytest.fixture
def leaky_project(project: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project above, as the current directory, with the test's store and the value of
    its secret reference in the environment (as a user's shell would have them)."""
    (project / "flows" / "leaky.py").write_text(textwrap.dedent(FLOW).lstrip())
    (project / "shipway.yaml").write_text(PROJECT)
    monkeypatch.chdir(project)
    monkeypatch.setenv("SHIPWAY_DATABASE_URL", store_url)
    monkeypatch.setenv("SHIPWAY_SECRET_DB_PASSWORD", REFERENCED)
    monkeypatch.delenv("SHIPWAY_DEBUG", raising=False)
    return project
