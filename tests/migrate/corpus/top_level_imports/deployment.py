from prefect.deployments import Deployment
from prefect.infrastructure import Process

from app import counter

Deployment.build_from_flow(
    flow=counter,
    name="counter",
    parameters={"start": 41},
    infrastructure=Process(labels={"team": "math"}),
    description="Counts",
)
