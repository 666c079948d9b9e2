from prefect.deployments import Deployment
from prefect.infrastructure import Process

from flows.nightly import nightly

Deployment.build_from_flow(
    flow=nightly,
    name="nightly-dry-run",
    parameters={"dry_run": True},
    infrastructure=Process.load("local"),
    work_queue_name="nightly",
)
