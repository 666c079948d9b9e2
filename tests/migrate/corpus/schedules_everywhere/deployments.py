from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule, RRuleSchedule
from prefect.deployments import Deployment

from flow import heartbeat

every_five_minutes = IntervalSchedule(interval=300)

Deployment.build_from_flow(flow=heartbeat, name="heartbeat-5m", schedule=every_five_minutes)
Deployment.build_from_flow(
    flow=heartbeat,
    name="heartbeat-weekdays",
    schedule=CronSchedule(cron="0 9 * * 1-5", timezone="America/New_York", day_or=True),
)
Deployment.build_from_flow(
    flow=heartbeat,
    name="heartbeat-rrule",
    schedule=RRuleSchedule(rrule="FREQ=WEEKLY;BYDAY=MO"),
)
