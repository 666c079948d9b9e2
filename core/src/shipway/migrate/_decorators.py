"""``@flow(...)`` and ``@task(...)`` keep the options shipway supports; each other
Prefect option is removed with the note the decorator itself would raise (what to do)."""

from __future__ import annotations

import libcst as cst

from shipway._prefect_options import FLOW_OPTIONS, TASK_OPTIONS, reason
from shipway.migrate._args import drop_args, keyword_of
from shipway.migrate._notes import Notes

__all__ = ["rewrite_decorator_call"]


def rewrite_decorator_call(
    original: cst.Call, updated: cst.Call, decorator: str, notes: Notes
) -> cst.Call:
    accepted = FLOW_OPTIONS if decorator == "flow" else TASK_OPTIONS

    def unsupported(arg: cst.Arg) -> bool:
        keyword = keyword_of(arg)
        if keyword is None or keyword in accepted:
            return False
        why = reason(keyword, f"@{decorator}", accepted)
        notes.note(original, f"@{decorator}({keyword}=...) removed: {why}")
        return True

    return drop_args(updated, unsupported)
