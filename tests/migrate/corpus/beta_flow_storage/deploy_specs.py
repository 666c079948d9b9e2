from prefect.deployments import DeploymentSpec
from prefect.blocks.storage import TempStorageBlock
from prefect.flow_runners import SubprocessFlowRunner

DeploymentSpec(
    name="cleanup",
    flow_location="cleanup.py",
    flow_storage=TempStorageBlock(),
    parameters={"days": 7},
    flow_runner=SubprocessFlowRunner(env={"DRY_RUN": True}),
)
