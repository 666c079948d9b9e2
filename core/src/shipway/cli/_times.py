"""Times as the store commands show and read them: table cells, durations, ``--at``."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from shipway.errors import ShipwayError
from shipway.schedules import parse_duration


def when(value: datetime | None) -> str:
    """A time for tables: UTC, to the second."""
    if value is None:
        return "-"
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def short_id(run_id: str) -> str:
    return run_id[:8]


def duration(start: datetime | None, end: datetime | None) -> str:
    """How long a run ran (so far): ``52ms``, ``4.2s``, ``3m07s``, ``1h02m03s``."""
    if start is None:
        return "-"
    seconds = ((end or datetime.now(timezone.utc)) - start).total_seconds()
    if seconds < 1:  # trivial flows finish in tens of milliseconds: "0.0s" would hide it
        return f"{max(seconds, 0) * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


_RELATIVE = re.compile(r"^\+\s*(?P<amount>.+)$")
_CLOCK = re.compile(r"^(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?$")


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """``--at``: ISO-8601 (without a zone: local time), ``HH:MM`` (the next time the local
    clock shows it) or ``+DURATION`` (``+10m``, ``+1h30m``)."""
    now = now or datetime.now(timezone.utc)
    text = text.strip()
    relative = _RELATIVE.match(text)
    clock = _CLOCK.match(text)
    try:
        if relative:
            return now + parse_duration(relative["amount"])
        if text.lower() == "now":
            return now
        if clock:
            return _next_clock_time(
                now, int(clock["hour"]), int(clock["minute"]), int(clock["second"] or 0)
            )
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ShipwayError(
            f"--at {text!r} is not a time",
            hint="Use ISO-8601 (2026-05-01T09:30, local time unless it ends with Z or +02:00), "
            "a time of day (09:30: the next one, local time) or a delay from now: +10m, "
            "+1h30m, +45s.",
        ) from None
    if value.tzinfo is None:
        value = value.astimezone()  # the local time zone
    return value.astimezone(timezone.utc)


def _next_clock_time(now: datetime, hour: int, minute: int, second: int) -> datetime:
    local = now.astimezone()
    today = local.replace(hour=hour, minute=minute, second=second, microsecond=0)
    if today <= local:
        # Tomorrow by the calendar, then the local offset of that day (summer time).
        tomorrow = today.replace(tzinfo=None) + timedelta(days=1)
        return tomorrow.astimezone().astimezone(timezone.utc)
    return today.astimezone(timezone.utc)
