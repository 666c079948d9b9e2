from prefect.deployments import Deployment
from prefect.infrastructure import Process

from flows import sync

for env in ["staging", "production"]:
    Deployment.build_from_flow(
        flow=sync,
        name=f"sync-{env}",
        parameters={"env": env},
        infrastructure=Process(env={"TARGET": env}),
    ).apply()
