from prefect.deployments import Deployment

from flow import download

Deployment.build_from_flow(flow=download, name="download")
