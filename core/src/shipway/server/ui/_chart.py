"""The dashboard's chart: runs due in each hour of the last 24, stacked by state, as
rectangles an inline SVG draws (no script, no chart library)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

from shipway.states import StateType

__all__ = ["HOURS", "Chart", "chart_window", "hourly_chart"]

HOURS = 24
WIDTH = 1100
HEIGHT = 120
GAP = 4
TOP = 16  # room above the tallest bar for its label
# Bottom to top: how runs ended first, then what is still to come.
STACK_ORDER = (
    StateType.COMPLETED,
    StateType.FAILED,
    StateType.CRASHED,
    StateType.CANCELLED,
    StateType.CANCELLING,
    StateType.RUNNING,
    StateType.PENDING,
    StateType.SCHEDULED,
)


@dataclasses.dataclass(frozen=True)
class Segment:
    x: float
    y: float
    width: float
    height: float
    state: str
    count: int
    label: str


@dataclasses.dataclass(frozen=True)
class Chart:
    segments: list[Segment]
    totals: dict[str, int]
    """Runs per state over the whole window, in stack order, states with runs only."""
    peak: int
    width: int = WIDTH
    height: int = HEIGHT
    top: int = TOP
    hour_labels: tuple[tuple[float, str], ...] = ()


def chart_window(now: datetime | None = None) -> datetime:
    """Where the chart starts: the first of the 24 whole hours that end with the current
    one (UTC)."""
    now = now or datetime.now(timezone.utc)
    return now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS - 1)


def hourly_chart(counts: dict[StateType, list[int]], since: datetime) -> Chart:
    """Stacked bars from ``Store.count_runs_per_hour`` from :func:`chart_window`."""
    per_hour = [sum(counts.get(s, [0] * HOURS)[h] for s in STACK_ORDER) for h in range(HOURS)]
    peak = max(per_hour, default=0)
    slot = WIDTH / HOURS
    segments = []
    for hour in range(HOURS):
        bottom = float(HEIGHT)
        start = since + timedelta(hours=hour)
        for state in STACK_ORDER:
            count = counts.get(state, [0] * HOURS)[hour]
            if not count:
                continue
            height = (HEIGHT - TOP) * count / peak
            bottom -= height
            label = f"{start:%H}:00 UTC: {count} {state.value}"
            x = hour * slot + GAP / 2
            segments.append(Segment(x, bottom, slot - GAP, height, state.value, count, label))
    totals = {s.value: sum(counts[s]) for s in STACK_ORDER if sum(counts.get(s, [])) > 0}
    labels = tuple(
        (hour * slot + slot / 2, f"{(since + timedelta(hours=hour)):%H}")
        for hour in range(0, HOURS, 3)
    )
    return Chart(segments, totals, peak, hour_labels=labels)
