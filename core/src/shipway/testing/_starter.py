"""The script the conformance suite runs to start a run from another process, which it
then kills, as an agent that crashed is: the re-attach check follows that run."""

from __future__ import annotations

__all__ = ["IDENTIFIER_PREFIX", "STARTER_SCRIPT"]

IDENTIFIER_PREFIX = "shipway-identifier: "
"""What the line holding the run's identifier starts with."""

STARTER_SCRIPT = """\
import sys

import anyio

from shipway.infrastructure import Job
from shipway.plugins import get_registry

type_name, config, job = sys.argv[1:4]
infrastructure = get_registry().resolve(type_name).model_validate_json(config)


async def main():
    async with anyio.create_task_group() as tg:
        identifier = await tg.start(infrastructure.run, Job.from_json(job))
        print("shipway-identifier:", identifier, flush=True)


anyio.run(main)
"""
"""What :meth:`InfrastructureConformance.start_command` runs: a process that knows the
type name, the configuration as JSON and the job as JSON. As soon as ``run()`` reports
the run's identifier, it prints ``shipway-identifier: <identifier>`` on a line of its
own, then follows the run."""
