from datetime import timedelta

from prefect.deployments import DeploymentSpec
from prefect.flow_runners import SubprocessFlowRunner
from prefect.orion.schemas.schedules import IntervalSchedule

DeploymentSpec(
    name="report-every-day",
    flow_location="./flows/report.py",
    flow_name="daily-report",
    schedule=IntervalSchedule(interval=timedelta(days=1)),
    flow_runner=SubprocessFlowRunner(stream_output=True),
    tags=["reports"],
)
