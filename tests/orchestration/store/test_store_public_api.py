"""The public names of shipway.store, and the orchestration fields of Deployment."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

import shipway.store
from shipway.deployments import Deployment, load_deployment_file
from shipway.errors import ConfigError
from shipway.schedules import CronSchedule, IntervalSchedule


def test_all_lists_every_public_name() -> None:
    import types

    defined = {
        name
        for name, value in vars(shipway.store).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name not in {"annotations"}
    }
    assert set(shipway.store.__all__) == defined
    for name in shipway.store.__all__:
        assert getattr(shipway.store, name) is not None
    with pytest.raises(AttributeError):
        _ = shipway.store.Nothing  # type: ignore[attr-defined]


def test_deployment_orchestration_fields_default() -> None:
    deployment = Deployment(name="x", flow="flows/a.py:f")
    assert deployment.work_queue == "default"
    assert (deployment.schedule, deployment.retries, deployment.retry_delay_seconds) == (
        None,
        0,
        0.0,
    )


def test_schedule_forms() -> None:
    cron = Deployment(name="x", flow="a.py:f", schedule={"cron": "0 9 * * 1-5"})
    assert cron.schedule is not None
    assert cron.schedule.to_schedule() == CronSchedule("0 9 * * 1-5", "UTC")
    every = Deployment(
        name="x", flow="a.py:f", schedule={"interval": "1h30m", "anchor": "2026-01-01T00:05Z"}
    )
    assert every.schedule is not None
    stored = every.schedule.to_schedule()
    assert isinstance(stored, IntervalSchedule) and stored.interval == timedelta(minutes=90)
    assert Deployment(name="x", flow="a.py:f", schedule={"interval": 60}).schedule is not None


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("{cron: 'every day'}", "not a valid cron expression"),
        ("{cron: '0 * * * *', timezone: Mars/Olympus}", "unknown time zone"),
        ("{interval: soon}", "not a duration"),
        ("{interval: 60, cron: '0 * * * *'}", "either 'cron' or 'interval'"),
        ("{interval: 60, timezone: Europe/Paris}", "'timezone' goes with 'cron'"),
        ("{interval: 60, anchor: '2026-01-01T00:00:00'}", "needs a time zone"),
        ("{every: 60}", "every"),
    ],
)
def test_schedule_mistakes_point_at_the_file(tmp_path: Path, schedule: str, message: str) -> None:
    path = tmp_path / "shipway.yaml"
    path.write_text(
        f"deployments:\n  - name: x\n    flow: flows/a.py:f\n    schedule: {schedule}\n"
    )
    with pytest.raises(ConfigError, match=message) as caught:
        load_deployment_file(path)
    assert "shipway.yaml:" in str(caught.value)


def test_retries_cannot_be_negative(tmp_path: Path) -> None:
    path = tmp_path / "shipway.yaml"
    path.write_text("deployments:\n  - name: x\n    flow: flows/a.py:f\n    retries: -1\n")
    with pytest.raises(ConfigError, match="retries"):
        load_deployment_file(path)
