from prefect.deployments import Deployment

from flow import ratios

Deployment.build_from_flow(flow=ratios, name="ratios")
