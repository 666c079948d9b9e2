"""Following a run from the store: its states and logs as they come, and how it ended."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import click

from shipway.cli._console import state_colour, status
from shipway.cli._store_access import retry_unavailable
from shipway.exit_status import ExitStatus, shell_exit_status
from shipway.log_lines import render_log_line
from shipway.secrets import mask
from shipway.states import StateType

if TYPE_CHECKING:
    from shipway.store import FlowRunRecord, StoredLogLine, StoreInterface


def log_text(line: StoredLogLine) -> str:
    """A stored line as shown: output as the flow wrote it; a run logger's record with
    its time and level (``shipway.log_lines.render_log_line``). Secrets masked."""
    text = mask(line.text)  # masked when stored; URL passwords of old lines too
    if line.level is None:
        return text
    return render_log_line(line.level, line.timestamp, text, line.source)


def follow_run(
    store: StoreInterface,
    run_id: str,
    *,
    show_logs: bool = True,
    show_states: bool = True,
    after: int = 0,
    poll: float = 0.5,
    min_level: int | None = None,
) -> FlowRunRecord:
    """Print the run's new log lines (stdout/stderr as the flow wrote them) and state
    changes, in the order they happened, until it reaches a final state; return the
    final record."""
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
                message = f": {mask(step.message)}" if step.message else ""
                attempt = f" (attempt {step.attempt})" if step.attempt > 1 else ""
                text = f"Flow run {record.id} {step.type.value}{attempt}{detail}{message}"
                colour = state_colour(step.type)
                news.append(
                    (step.timestamp, 0, functools.partial(status, text, fg=colour, dim=True))
                )
            states_seen = len(history)
        if show_logs:
            while True:
                lines = retry_unavailable(
                    functools.partial(
                        store.read_logs, record.id, after=after, min_level=min_level
                    ),
                    poll=poll,
                )
                for line in lines:
                    after = line.seq
                    text = log_text(line)
                    show: Callable[[], None]
                    if line.stream == "shipway":
                        show = functools.partial(status, text, dim=True)
                    else:
                        show = functools.partial(click.echo, text, err=line.stream == "stderr")
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
    if record.state is StateType.COMPLETED:
        return ExitStatus.COMPLETED
    if record.state is StateType.CANCELLED:
        return ExitStatus.CANCELLED
    code = shell_exit_status(record.exit_code) if record.exit_code else 0
    return code or ExitStatus.FAILED


def report_final(record: FlowRunRecord) -> None:
    detail = "" if record.state is StateType.COMPLETED else f": {mask(record.state_message)}"
    status(
        f"Flow run {record.id} {record.state.value}{detail}",
        fg=state_colour(record.state),
    )
