from prefect.deployments import Deployment
from prefect.infrastructure import Process

from flow import show_env

Deployment.build_from_flow(
    flow=show_env,
    name="env",
    infrastructure=Process(env={"PORT": 8080, "DEBUG": False, "RATIO": 0.5}),
)
