"""A project whose deployment holds secrets of every kind the masking rule knows, planted
to check that nothing shows them: the CLI's commands
(tests/orchestration/agent/test_cli_masks_secrets.py) and the server's responses
(tests/server/test_api_secrets.py)."""

from __future__ import annotations

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
