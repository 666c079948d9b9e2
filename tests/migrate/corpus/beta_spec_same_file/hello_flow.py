# Prefect 2.0b5: `prefect deployment create hello_flow.py`
from prefect import flow
from prefect.deployments import DeploymentSpec
from prefect.flow_runners import SubprocessFlowRunner


@flow
def hello(name: str = "world"):
    print(f"hello, {name}!")


DeploymentSpec(
    flow=hello,
    name="hello-local",
    parameters={"name": "beta user"},
    tags=["demo"],
    # run it in a plain subprocess
    flow_runner=SubprocessFlowRunner(),
)
