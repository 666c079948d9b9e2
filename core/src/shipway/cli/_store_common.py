"""Helpers shared by the commands that read and write the store: times, states, following
a run's states and logs."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, TypeVar

import click

from shipway.errors import ShipwayError

if TYPE_CHECKING:
    from shipway.states import StateType
    from shipway.store import FlowRunRecord, Store

T = TypeVar("T")

EXIT_CANCELLED = 130
STATE_COLOURS = {
    "Scheduled": "cyan",
    "Pending": "cyan",
    "Running": "blue",
    "Completed": "green",
    "Failed": "red",
    "Crashed": "red",
    "Cancelling": "yellow",
    "Cancelled": "yellow",
}


def open_cli_store() -> Store:
    from shipway.store import open_store

    return open_store()


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
    from shipway.schedules import parse_duration

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


def retry_unavailable(call: Callable[[], T], *, poll: float) -> T:
    """Call; while the store cannot be reached, say so once and try again (a watch
    survives a database restart)."""
    from shipway.cli._console import status
    from shipway.store import StoreUnavailable

    warned = False
    while True:
        try:
            result = call()
        except StoreUnavailable as exc:
            if not warned:
                status(f"Warning: {exc.message}; retrying...", fg="yellow")
                warned = True
            time.sleep(max(poll, 1.0))
            continue
        if warned:
            status("The store is reachable again.", dim=True)
        return result


def follow_run(
    store: Store,
    run_id: str,
    *,
    show_logs: bool = True,
    show_states: bool = True,
    after: int = 0,
    poll: float = 0.5,
) -> FlowRunRecord:
    """Print the run's new log lines (stdout/stderr as the flow wrote them) and state
    changes, in the order they happened, until it reaches a final state; return the
    final record."""
    from shipway.cli._console import status

    states_seen = 0
    while True:
        record = retry_unavailable(lambda: store.get_flow_run(run_id), poll=poll)
        # (timestamp, states before lines at the same instant, what to print)
        news: list[tuple[datetime, int, Callable[[], None]]] = []
        if show_states:
            history = retry_unavailable(
                functools.partial(store.state_history, record.id), poll=poll
            )
            for step in history[states_seen:]:
                if step.type.is_final:
                    continue  # the caller reports the end
                detail = f" as {step.identifier}" if step.identifier else ""
                message = f": {step.message}" if step.message else ""
                attempt = f" (attempt {step.attempt})" if step.attempt > 1 else ""
                text = f"Flow run {record.id} {step.type.value}{attempt}{detail}{message}"
                colour = STATE_COLOURS.get(step.type.value)
                news.append(
                    (step.timestamp, 0, functools.partial(status, text, fg=colour, dim=True))
                )
            states_seen = len(history)
        if show_logs:
            while True:
                lines = retry_unavailable(
                    functools.partial(store.read_logs, record.id, after=after), poll=poll
                )
                for line in lines:
                    after = line.seq
                    show: Callable[[], None]
                    if line.stream == "shipway":
                        show = functools.partial(status, line.text, dim=True)
                    else:
                        show = functools.partial(click.echo, line.text, err=line.stream == "stderr")
                    news.append((line.timestamp, 1, show))
                if len(lines) < 1000:
                    break
        # Stable: lines of one stream keep their order whatever their timestamps.
        for _, _, show in sorted(news, key=lambda item: (item[0], item[1])):
            show()
        if record.state.is_final:
            return record
        time.sleep(poll)


def final_exit_status(record: FlowRunRecord) -> int:
    """The shell exit status of a finished run, as `shipway run` gives it: 0 Completed,
    the flow's status when it failed or crashed (signals as 128+N), 130 Cancelled."""
    from shipway.cli._run import exit_status_for
    from shipway.states import StateType

    if record.state is StateType.COMPLETED:
        return 0
    if record.state is StateType.CANCELLED:
        return EXIT_CANCELLED
    code = exit_status_for(record.exit_code) if record.exit_code else 0
    return code or 1


def report_final(record: FlowRunRecord) -> None:
    from shipway.cli._console import status
    from shipway.states import StateType

    detail = "" if record.state is StateType.COMPLETED else f": {record.state_message}"
    status(
        f"Flow run {record.id} {record.state.value}{detail}",
        fg=STATE_COLOURS.get(record.state.value),
    )


def parse_states(values: tuple[str, ...]) -> list[StateType]:
    """``--state running`` (any case; repeatable or comma-separated)."""
    from shipway.states import StateType

    by_name = {s.value.lower(): s for s in StateType}
    states = []
    for value in values:
        for part in value.split(","):
            name = part.strip().lower()
            if name not in by_name:
                raise ShipwayError(
                    f"--state {part.strip()!r} is not a state",
                    hint=f"States: {', '.join(s.value for s in StateType)}.",
                )
            states.append(by_name[name])
    return states
