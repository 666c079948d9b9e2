from prefect.deployments import Deployment
from prefect.infrastructure.process import Process

from flows import parent

deployment = Deployment.build_from_flow(
    flow=parent, name="async-parent", infrastructure=Process(stream_output=True)
)

if __name__ == "__main__":
    deployment.apply()
