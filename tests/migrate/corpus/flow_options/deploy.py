from prefect.deployments import Deployment

from flows.options import options_demo

Deployment.build_from_flow(flow=options_demo, name="options", parameters={"count": "7"})
