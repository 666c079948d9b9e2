"""``python -m shipway.engine`` with a job handed over, as an infrastructure starts it:
for the tests of what the engine does before the flow runs (pulling its code)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from shipway.jobs import JOB_ENV_VAR, Job
from shipway.storage import STORAGE_CACHE_VAR

__all__ = ["run_engine"]


def run_engine(
    job: Job,
    *,
    cwd: Path,
    cache: Path | None = None,
    env: Mapping[str, str] | None = None,
    python_options: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """Run ``job`` to its end; the pull cache in ``cache`` (None: the default one)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    environment[JOB_ENV_VAR] = job.to_json()
    if cache is not None:
        environment[STORAGE_CACHE_VAR] = str(cache)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, *python_options, "-m", "shipway.engine"],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
