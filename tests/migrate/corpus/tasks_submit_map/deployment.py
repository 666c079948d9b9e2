from prefect.deployments import Deployment
from prefect.infrastructure import Process

from flow import fan_out

Deployment.build_from_flow(flow=fan_out, name="fan-out", infrastructure=Process())
