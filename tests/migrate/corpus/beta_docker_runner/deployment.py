from prefect.deployments import DeploymentSpec
from prefect.flow_runners import DockerFlowRunner, ImagePullPolicy

from flows import crunch

DeploymentSpec(
    name="crunch-docker",
    flow=crunch,
    flow_runner=DockerFlowRunner(
        image="registry.example.com/analytics/crunch:1.4",
        image_pull_policy=ImagePullPolicy.IF_NOT_PRESENT,
        env={"ROWS_PER_BATCH": 500},
        volumes=["/data:/data:ro"],
    ),
)
