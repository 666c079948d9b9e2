from prefect.deployments import Deployment
from prefect.filesystems import S3
from prefect.infrastructure import Process

from flow import nightly_backup

storage = S3.load("prod-flows")
local = Process.load("local-process")

backup = Deployment.build_from_flow(
    flow=nightly_backup,
    name="backup",
    storage=storage,
    infrastructure=local,
    path="backups/",
    skip_upload=True,
)
backup.apply()
