"""Schedules: when cron (with a time zone) and interval schedules fire, and
schedule_due_runs creating each (deployment, time) run once however many agents ask."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from _store_helpers import scheduled_spec, spec, utc
from shipway.schedules import (
    CronSchedule,
    IntervalSchedule,
    Schedule,
    parse_duration,
    schedule_times,
    validate_schedule,
)
from shipway.states import StateType
from shipway.store import SCHEDULE_SLACK, Store


def _times(schedule: Schedule, after: datetime, until: datetime) -> list[str]:
    return [t.strftime("%m-%d %H:%M") for t in schedule_times(schedule, after, until)]


def test_cron_in_a_time_zone_follows_summer_time() -> None:
    nine_in_paris = CronSchedule("0 9 * * *", "Europe/Paris")
    assert _times(nine_in_paris, utc(2026, 3, 27), utc(2026, 3, 31)) == [
        "03-27 08:00", "03-28 08:00", "03-29 07:00", "03-30 07:00",
    ]  # fmt: skip


def test_cron_hourly_keeps_every_hour_when_clocks_go_back() -> None:
    hourly = CronSchedule("0 * * * *", "Europe/Paris")
    got = _times(hourly, utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 3))
    assert got == ["10-25 00:00", "10-25 01:00", "10-25 02:00", "10-25 03:00"]


def test_cron_fixed_time_runs_once_when_clocks_go_back() -> None:
    half_past_two = CronSchedule("30 2 * * *", "Europe/Paris")
    assert _times(half_past_two, utc(2026, 10, 24), utc(2026, 10, 27)) == [
        "10-24 00:30", "10-25 00:30", "10-26 01:30",
    ]  # fmt: skip
    # a window holding only the repeated 02:30 creates nothing
    assert _times(half_past_two, utc(2026, 10, 25, 1), utc(2026, 10, 25, 2)) == []


def test_cron_time_skipped_by_summer_time_still_runs_that_day() -> None:
    half_past_two = CronSchedule("30 2 * * *", "Europe/Paris")
    got = _times(half_past_two, utc(2026, 3, 28, 12), utc(2026, 3, 29, 12))
    assert len(got) == 1 and got[0].startswith("03-29")


def test_interval_with_and_without_anchor() -> None:
    every_90_min = IntervalSchedule(timedelta(minutes=90))
    assert _times(every_90_min, utc(2026, 1, 1), utc(2026, 1, 1, 4)) == [
        "01-01 01:30", "01-01 03:00",
    ]  # fmt: skip
    anchored = IntervalSchedule(timedelta(hours=1), anchor=utc(2026, 1, 1, 0, 15))
    assert _times(anchored, utc(2026, 1, 1, 0, 15), utc(2026, 1, 1, 2, 15)) == [
        "01-01 01:15", "01-01 02:15",
    ]  # fmt: skip
    assert _times(anchored, utc(2025, 12, 31, 23), utc(2026, 1, 1, 0, 30)) == [
        "12-31 23:15", "01-01 00:15",
    ]  # fmt: skip


def test_durations_and_validation() -> None:
    assert parse_duration(90) == timedelta(seconds=90)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("2d") == timedelta(days=2)
    assert parse_duration("45") == timedelta(seconds=45)
    for bad in ("soon", "", "0", -5):
        with pytest.raises(ValueError):
            parse_duration(bad)
    with pytest.raises(ValueError, match="not a valid cron"):
        validate_schedule(CronSchedule("every day"))
    with pytest.raises(ValueError, match="unknown time zone"):
        validate_schedule(CronSchedule("0 * * * *", "Mars/Olympus"))


def _scheduled(store: Store, name: str) -> list[datetime]:
    runs = store.list_flow_runs(deployment=name, states=[StateType.SCHEDULED], limit=1000)
    return sorted(run.scheduled_time for run in runs if run.auto_scheduled)


def test_due_runs_created_once(store: Store) -> None:
    store.apply_deployment(scheduled_spec("every", IntervalSchedule(timedelta(minutes=10))))
    now = datetime.now(timezone.utc)
    created = store.schedule_due_runs(now, timedelta(hours=1))
    assert created in (6, 7)
    assert store.schedule_due_runs(now, timedelta(hours=1)) == 0
    assert store.schedule_due_runs(now + timedelta(minutes=30), timedelta(hours=1)) == 3
    times = _scheduled(store, "every")
    assert len(times) == created + 3
    assert all((b - a) == timedelta(minutes=10) for a, b in itertools.pairwise(times))
    assert times[0] > now - timedelta(minutes=10)


def test_no_runs_before_the_schedule_was_applied(store: Store) -> None:
    hourly = CronSchedule("0 * * * *")
    record, _ = store.apply_deployment(scheduled_spec("hourly", hourly))
    assert record.updated is not None
    store.schedule_due_runs(record.updated + timedelta(minutes=1), timedelta(0))
    assert all(t > record.updated for t in _scheduled(store, "hourly"))


def test_missed_runs_older_than_the_slack_are_skipped(store: Store) -> None:
    every_minute = IntervalSchedule(timedelta(minutes=1))
    store.apply_deployment(scheduled_spec("minutely", every_minute))
    later = datetime.now(timezone.utc) + timedelta(hours=2)
    store.schedule_due_runs(later, timedelta(0))
    times = _scheduled(store, "minutely")
    assert times and times[0] >= later - SCHEDULE_SLACK


def test_changing_the_schedule_drops_its_planned_runs(store: Store) -> None:
    store.apply_deployment(scheduled_spec("job", IntervalSchedule(timedelta(minutes=10))))
    manual = store.create_flow_run("job", scheduled_time=utc(2099, 1, 1))
    now = datetime.now(timezone.utc)
    store.schedule_due_runs(now, timedelta(hours=1))
    store.apply_deployment(scheduled_spec("job", IntervalSchedule(timedelta(minutes=30))))
    assert _scheduled(store, "job") == []
    assert store.get_flow_run(manual.id).state is StateType.SCHEDULED
    store.apply_deployment(spec("job"))  # no schedule any more
    assert store.schedule_due_runs(now, timedelta(hours=1)) == 0


def test_concurrent_threads_create_each_run_once(store: Store) -> None:
    store.apply_deployment(scheduled_spec("a", IntervalSchedule(timedelta(minutes=1))))
    store.apply_deployment(scheduled_spec("b", CronSchedule("*/5 * * * *", "America/New_York")))
    now = datetime.now(timezone.utc)

    def tick(_: int) -> int:
        return store.schedule_due_runs(now, timedelta(minutes=30))

    with ThreadPoolExecutor(6) as pool:
        total = sum(pool.map(tick, range(12)))
    a, b = _scheduled(store, "a"), _scheduled(store, "b")
    assert total == len(a) + len(b)
    assert len(a) == len(set(a)) and len(b) == len(set(b))
    assert len(a) in (30, 31) and len(b) in (6, 7)


_TICKER = (
    "import sys, datetime as d; from shipway.store import open_store; "
    "s = open_store(sys.argv[1]); now = d.datetime.fromisoformat(sys.argv[2]); "
    "print(sum(s.schedule_due_runs(now, d.timedelta(minutes=30)) for _ in range(3)))"
)


@pytest.mark.slow
def test_concurrent_processes_create_each_run_once(store: Store, store_url: str) -> None:
    store.apply_deployment(scheduled_spec("a", IntervalSchedule(timedelta(minutes=1))))
    time.sleep(0.01)
    now = datetime.now(timezone.utc).isoformat()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _TICKER, store_url, now],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in results]
    times = _scheduled(store, "a")
    assert sum(int(out) for out, _ in results) == len(times) == len(set(times))
    assert len(times) in (30, 31)
