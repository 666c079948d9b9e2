"""Schedules: when a deployment's runs are due, and one way to describe them.

Pure values and arithmetic, no database: the deployment models validate with them, the
store persists them (``shipway.store`` keeps the JSON form) and every command that shows a
schedule describes it with :func:`describe_schedule`."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import TypeAlias

__all__ = [
    "CronSchedule",
    "IntervalSchedule",
    "Schedule",
    "describe_schedule",
    "parse_duration",
    "schedule_times",
    "validate_schedule",
]

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_DURATION = re.compile(r"^\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\s*$")


@dataclasses.dataclass(frozen=True)
class CronSchedule:
    """Runs at the times a cron expression matches, read in ``timezone`` (an IANA name)."""

    cron: str
    timezone: str = "UTC"


@dataclasses.dataclass(frozen=True)
class IntervalSchedule:
    """Runs every ``interval``, at ``anchor + k * interval`` (anchor default: the Unix epoch)."""

    interval: timedelta
    anchor: datetime | None = None


Schedule: TypeAlias = CronSchedule | IntervalSchedule


def describe_schedule(schedule: Schedule) -> str:
    """The one wording of a schedule, wherever one is shown (a file's or the store's):
    ``cron 0 9 * * 1-5 (Europe/Paris)``, ``every 1:30:00 from 2026-01-01T00:00:00+00:00``."""
    if isinstance(schedule, CronSchedule):
        return f"cron {schedule.cron} ({schedule.timezone})"
    anchor = f" from {schedule.anchor.isoformat()}" if schedule.anchor else ""
    return f"every {schedule.interval}{anchor}"


def parse_duration(value: float | str | timedelta) -> timedelta:
    """Seconds (``3600``), ``"1h30m"``-style text (d, h, m, s) or a timedelta."""
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, (int, float)):
        result = timedelta(seconds=value)
    else:
        text = value.strip()
        match = _DURATION.match(text)
        if text.replace(".", "", 1).isdigit():
            result = timedelta(seconds=float(text))
        elif text and match and any(match.groups()):
            days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
            result = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        else:
            raise ValueError(f"{value!r} is not a duration; use seconds or e.g. '1h30m', '45s'")
    if result <= timedelta(0):
        raise ValueError("an interval must be longer than zero")
    return result


def validate_schedule(schedule: Schedule) -> None:
    """Raise ValueError with a readable message when the cron or time zone is wrong."""
    if isinstance(schedule, CronSchedule):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        from croniter import croniter  # type: ignore[import-untyped,unused-ignore]

        if not croniter.is_valid(schedule.cron):
            raise ValueError(f"{schedule.cron!r} is not a valid cron expression")
        try:
            ZoneInfo(schedule.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {schedule.timezone!r}; use an IANA name like 'Europe/Paris'"
            ) from None


def schedule_times(schedule: Schedule, after: datetime, until: datetime) -> Iterator[datetime]:
    """The times in ``(after, until]`` the schedule fires at, as UTC, oldest first."""
    if isinstance(schedule, IntervalSchedule):
        anchor = schedule.anchor or EPOCH
        step = schedule.interval
        k = (after - anchor) // step + 1
        at = anchor + k * step
        while at <= until:
            if at > after:
                yield at.astimezone(timezone.utc)
            at += step
        return
    from zoneinfo import ZoneInfo

    from croniter import croniter

    zone = ZoneInfo(schedule.timezone)
    # When clocks go back, a wall-clock time like 02:30 happens twice: a schedule with a
    # fixed hour runs at the first one only (as cron does); an hourly one keeps both.
    fixed_hour = not schedule.cron.split()[1].startswith("*")
    iterator = croniter(schedule.cron, after.astimezone(zone))
    previous: datetime | None = None
    while True:
        at = iterator.get_next(datetime).astimezone(timezone.utc)
        if at > until:
            return
        if at <= after or at == previous:
            continue
        previous = at
        if fixed_hour and at.astimezone(zone).fold == 1:
            continue
        yield at
