"""``python -m shipway.engine``: the engine with the storage step composed in.

This module sits in the contracts layer (tests/test_architecture.py), above the engine:
the engine runs a job and knows no plugin kind; here a job with ``storage`` gets its code
pulled (``shipway.storage.pull_job_code``) before the engine imports the flow.
"""

import os
import sys

from shipway.engine import main
from shipway.jobs import Job
from shipway.pulled_code import cache_root, find_pulled


def _pull_code(job: Job) -> Job:
    if job.storage is None:  # no pydantic, no registry: such a run starts as fast as ever
        return job
    pulled = find_pulled(cache_root(), job.storage, job.storage_ref or "")
    if pulled is not None:  # pulled before: no pydantic, no plugin either
        job = job.replace(working_dir=str(pulled))
    else:
        from shipway.storage import pull_job_code

        job = pull_job_code(job)
    if job.working_dir:  # the flow's relative paths mean the pulled project, as locally
        os.chdir(job.working_dir)
    return job


sys.exit(main(prepare=_pull_code))
