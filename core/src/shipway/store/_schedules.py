"""How schedules are written to and read from the database (the values: ``shipway.schedules``)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from shipway.schedules import CronSchedule, IntervalSchedule, Schedule

__all__ = ["schedule_from_json", "schedule_to_json"]


def schedule_to_json(schedule: Schedule | None) -> str | None:
    if schedule is None:
        return None
    if isinstance(schedule, CronSchedule):
        data: dict[str, Any] = {"cron": schedule.cron, "timezone": schedule.timezone}
    else:
        data = {
            "interval": schedule.interval.total_seconds(),
            "anchor": schedule.anchor.isoformat() if schedule.anchor else None,
        }
    return json.dumps(data, sort_keys=True)


def schedule_from_json(text: str | None) -> Schedule | None:
    if not text:
        return None
    data = json.loads(text)
    if "cron" in data:
        return CronSchedule(cron=data["cron"], timezone=data.get("timezone") or "UTC")
    anchor = datetime.fromisoformat(data["anchor"]) if data.get("anchor") else None
    return IntervalSchedule(interval=timedelta(seconds=data["interval"]), anchor=anchor)
