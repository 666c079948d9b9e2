from datetime import datetime, timedelta, timezone

from prefect.deployments import Deployment
from prefect.infrastructure.docker import DockerContainer, ImagePullPolicy
from prefect.server.schemas.schedules import IntervalSchedule

from flow import ingest

docker_block = DockerContainer(
    image="acme/ingest:latest",
    image_pull_policy=ImagePullPolicy.ALWAYS,
    auto_remove=True,
    env={"WORKERS": 4},
)

Deployment.build_from_flow(
    flow=ingest,
    name="ingest-hourly",
    infrastructure=docker_block,
    infra_overrides={"env.LOG_LEVEL": "DEBUG", "env.BATCH": 100},
    schedule=IntervalSchedule(
        interval=timedelta(hours=1),
        anchor_date=datetime(2023, 1, 1, tzinfo=timezone.utc),
        timezone="UTC",
    ),
    work_queue_name="docker",
    apply=True,
)
