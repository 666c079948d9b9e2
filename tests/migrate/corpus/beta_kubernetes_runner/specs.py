from prefect.deployments import DeploymentSpec
from prefect.flow_runners import KubernetesFlowRunner, SubprocessFlowRunner
from prefect.orion.schemas.schedules import CronSchedule

from etl.pipeline import pipeline

DeploymentSpec(
    name="pipeline-nightly",
    flow=pipeline,
    schedule=CronSchedule(cron="0 2 * * *", timezone="Europe/Berlin"),
    flow_runner=KubernetesFlowRunner(
        namespace="data",
        image="ghcr.io/acme/pipeline:2022.6",
        env={"PREFECT_LOGGING_LEVEL": "DEBUG"},
    ),
)

DeploymentSpec(
    name="pipeline-dev",
    flow=pipeline,
    flow_runner=SubprocessFlowRunner(),
)
