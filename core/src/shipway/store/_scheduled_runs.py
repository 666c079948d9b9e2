"""The runs schedules create: each deployment's due times, one run per time whoever asks
(the schedule values and their times: ``shipway.schedules``)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from itertools import islice

import sqlalchemy as sa

from shipway.schedules import schedule_times
from shipway.states import StateType
from shipway.store import _tables as t
from shipway.store._database import Database, utc_now
from shipway.store._records import DeploymentRecord
from shipway.store._rows import deployment_from_row, history_values, new_run_values

__all__ = ["SCHEDULE_SLACK", "ScheduledRuns"]

# How late a scheduled time may be and still get its run created (agents were down:
# missed runs are skipped rather than started in a burst).
SCHEDULE_SLACK = timedelta(minutes=5)
# Most runs one schedule creates in one call (a short interval with a long horizon).
MAX_RUNS_PER_SCHEDULE = 100


@dataclasses.dataclass(frozen=True)
class ScheduledRuns:
    db: Database

    def schedule_due_runs(self, now: datetime, horizon: timedelta) -> int:
        with self.db.transaction(write=False) as connection:
            scheduled = connection.execute(
                sa.select(t.deployments).where(t.deployments.c.schedule.is_not(None))
            ).all()
        created = 0
        for row in scheduled:
            record = deployment_from_row(row)
            assert record.schedule is not None and record.updated is not None
            after = max(now - SCHEDULE_SLACK, record.updated)
            times = list(
                islice(schedule_times(record.schedule, after, now + horizon), MAX_RUNS_PER_SCHEDULE)
            )
            if times:
                created += self._create_runs(record, times)
        return created

    def _create_runs(self, record: DeploymentRecord, times: list[datetime]) -> int:
        stamp = utc_now()
        rows = []
        for at in times:
            values = new_run_values(record, stamp, at)
            values["schedule_key"] = at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            rows.append(values)
        with self.db.transaction() as connection:
            inserted = (
                connection.execute(
                    self.db.insert(t.flow_runs)
                    .values(rows)
                    .on_conflict_do_nothing(index_elements=["deployment_id", "schedule_key"])
                    .returning(t.flow_runs.c.id)
                )
                .scalars()
                .all()
            )
            if inserted:
                connection.execute(
                    t.flow_run_states.insert(),
                    [
                        history_values(
                            run_id,
                            StateType.SCHEDULED,
                            "created by the schedule",
                            stamp,
                            attempt=1,
                            agent_id=None,
                            identifier=None,
                        )
                        for run_id in inserted
                    ],
                )
        return len(inserted)
