"""The script the conformance suite runs to call ``kill`` from another process."""

from __future__ import annotations

__all__ = ["KILLER_SCRIPT"]

KILLER_SCRIPT = """\
import sys

import anyio

from shipway.infrastructure import InfrastructureNotFound
from shipway.plugins import get_registry

type_name, config, identifier, grace_seconds = sys.argv[1:5]
infrastructure = get_registry().resolve(type_name).model_validate_json(config)
try:
    anyio.run(infrastructure.kill, identifier, int(grace_seconds))
except InfrastructureNotFound as exc:
    print("not found:", exc.message)
else:
    print("killed")
"""
"""What :meth:`InfrastructureConformance.kill_command` runs: a process that knows
nothing but the type name, the configuration as JSON and the identifier, as the
``shipway`` command (or an agent on the same machine) does when it stops a run."""
