"""Prefect's schedule objects become shipway's schedule mapping, which ``Deployment``
takes as it is: ``IntervalSchedule(interval=timedelta(hours=1))`` ->
``{"interval": timedelta(hours=1)}``, ``CronSchedule(cron=..., timezone=...)`` ->
``{"cron": ..., "timezone": ...}``. The values' source is kept as written."""

from __future__ import annotations

import libcst as cst

from shipway.migrate._args import code_of, keyword_of
from shipway.migrate._notes import Notes

__all__ = ["rewrite_schedule_call"]

_KEYS = {
    "IntervalSchedule": {"interval": "interval", "anchor_date": "anchor"},
    "CronSchedule": {"cron": "cron", "timezone": "timezone"},
}
_POSITIONAL = {"IntervalSchedule": "interval", "CronSchedule": "cron"}
_DROPPED = {
    ("IntervalSchedule", "timezone"): "an interval is counted from its anchor; give the "
    "anchor a time zone instead (anchor_date=datetime(..., tzinfo=ZoneInfo('Europe/Paris')))",
    ("CronSchedule", "day_or"): "shipway reads cron expressions as cron does (day-of-month "
    "OR day-of-week)",
}


def rewrite_schedule_call(
    call: cst.Call, original: cst.Call, class_name: str, notes: Notes
) -> cst.BaseExpression:
    if class_name not in _KEYS:
        notes.note(
            original,
            f"{class_name}(...) has no shipway equivalent: replaced by None (no schedule); "
            "write schedule={'cron': '...', 'timezone': '...'} or {'interval': seconds}",
        )
        return cst.Name("None", lpar=call.lpar, rpar=call.rpar)
    keys = _KEYS[class_name]
    items: list[str] = []
    quote = notes.quote
    for index, arg in enumerate(call.args):
        keyword = keyword_of(arg)
        if keyword is None and index == 0 and not arg.star:
            keyword = _POSITIONAL[class_name]
        if keyword is None or arg.star:
            notes.note(original, f"{class_name}(...): rewrite this argument by hand")
            return call
        if keyword not in keys:
            what = _DROPPED.get((class_name, keyword), "shipway schedules have no such setting")
            notes.note(original, f"{class_name}({keyword}=...) is dropped: {what}")
            continue
        items.append(f"{quote}{keys[keyword]}{quote}: {code_of(arg.value).strip()}")
    return cst.parse_expression("{" + ", ".join(items) + "}").with_changes(
        lpar=call.lpar, rpar=call.rpar
    )
