"""``DeploymentSpec(...)``, Prefect 2's ``Deployment(...)`` and
``Deployment.build_from_flow(...)`` become shipway's ``Deployment(...)``, keyword by
keyword: renamed where shipway spells it differently, translated where the value
changes shape (``flow_location=`` -> ``flow=``, dotted ``infra_overrides`` keys ->
nested ``overrides``), removed with a note where shipway has no equivalent.

Storage (``storage=``, ``flow_storage=``) goes through :func:`_storage`, the one place a
storage translation plugs in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import libcst as cst

from shipway.migrate._args import (
    NOT_LITERAL,
    code_of,
    keyword_of,
    literal_of,
    python_literal,
    renamed,
    with_args,
)
from shipway.migrate._flow_location import entrypoint_for
from shipway.migrate._infrastructure_calls import stringified_env, stringified_env_value
from shipway.migrate._notes import Notes
from shipway.migrate._rules import DEPLOYMENT_FIELDS
from shipway.migrate._storage_notes import storage_note

__all__ = ["rewrite_deployment_call"]

_RENAMED = {
    "flow_runner": "infrastructure",
    "work_queue_name": "work_queue",
    "infra_overrides": "overrides",
    "job_variables": "overrides",
}

_APPLY = "store deployments with `shipway deployment apply -f FILE`"

#: Keywords about how Prefect built, uploaded or stored a deployment: shipway needs none.
_BUILD_MECHANICS = {
    "apply": _APPLY,
    "skip_upload": "shipway uploads nothing",
    "load_existing": "a file's deployments are read as written",
    "output": "shipway writes no deployment YAML; the Python file is the deployment",
    "ignore_file": "shipway uploads nothing",
    "timestamp": "not needed",
    "manifest_path": "not needed",
    "parameter_openapi_schema": "parameters are checked against the flow's signature",
    "enforce_parameter_schema": "parameters are always checked against the flow's signature",
}

_NO_EQUIVALENT = {
    "work_pool_name": "shipway has no work pools: agents take runs from work queues "
    "(work_queue=), and the pool's settings go in infrastructure= and overrides=",
    "packager": "shipway runs the flow from the project directory or an image you build "
    "(docs/plugins/docker-images.md)",
    "path": "Prefect's path was where its storage put the flow's files: shipway runs the "
    "flow from the directory of this file (shipway's path= names another project directory)",
    "schedules": "shipway deployments take one schedule: schedule={'cron': ...}",
    "is_schedule_active": "a schedule in shipway is active once applied; remove schedule= "
    "to pause it",
    "flow_name": "name the flow by entrypoint: flow='path/to/file.py:function'",
}


def rewrite_deployment_call(
    original: cst.Call, updated: cst.Call, notes: Notes, directory: Path | None
) -> cst.Call:
    keywords = {keyword_of(arg) for arg in updated.args}
    if {"flow_runner", "infrastructure"} <= keywords:
        notes.note(
            original,
            "both flow_runner= and infrastructure= are given: remove flow_runner=, "
            "the deprecated spelling (not rewritten)",
        )
        return updated
    location = _flow_location(original, updated, notes, directory)
    names_the_flow = bool({"flow", "entrypoint"} & keywords) or location is not None
    args: list[cst.Arg] = []
    for arg in updated.args:
        keyword = keyword_of(arg)
        # storage= holds a Prefect block, not a shipway Storage: the note (_storage) says
        # which storage: block to write instead.
        kept = keyword in DEPLOYMENT_FIELDS and keyword not in ("path", "storage")
        if keyword is None or kept:
            args.append(arg)
            continue
        if keyword in ("storage", "flow_storage"):
            new = _storage(arg, original, notes)
        elif keyword == "flow_location":
            new = location or arg
        elif keyword == "flow_name":
            # the entrypoint names it; without one it stays beside flow_location='s note
            new = None if names_the_flow else arg
        elif keyword == "entrypoint":
            new = None if "flow" in keywords else renamed(arg, "flow")
        elif keyword in _RENAMED:
            new = _renamed(arg, original, notes)
        elif keyword in _BUILD_MECHANICS:
            if not _is_literal(arg, (False, None)) or keyword == "apply":
                notes.note(original, f"{keyword}= removed: {_BUILD_MECHANICS[keyword]}")
            new = None
        else:
            what = _NO_EQUIVALENT.get(
                keyword, f"Deployment accepts: {', '.join(sorted(DEPLOYMENT_FIELDS))}"
            )
            if not _is_literal(arg, (None, True) if keyword == "is_schedule_active" else (None,)):
                notes.note(original, f"{keyword}= has no equivalent in shipway (removed): {what}")
            new = None
        if new is not None:
            args.append(new)
    return with_args(updated, args)


def _is_literal(arg: cst.Arg, values: tuple[Any, ...]) -> bool:
    value = literal_of(arg.value)
    return value is not NOT_LITERAL and any(value is v or value == v for v in values)


def _renamed(arg: cst.Arg, original: cst.Call, notes: Notes) -> cst.Arg | None:
    keyword = keyword_of(arg)
    assert keyword is not None
    if keyword == "work_queue_name" and _is_literal(arg, (None,)):
        return None  # the default queue
    new = renamed(arg, _RENAMED[keyword])
    if _RENAMED[keyword] == "overrides":
        return new.with_changes(value=_overrides(arg.value, original, notes))
    return new


def _overrides(value: cst.BaseExpression, original: cst.Call, notes: Notes) -> cst.BaseExpression:
    """Prefect's ``{"env.LOG_LEVEL": "DEBUG", "image": "x"}`` (dotted keys) as shipway's
    nested ``{"env": {"LOG_LEVEL": "DEBUG"}, "image": "x"}``; env values as strings."""
    if not isinstance(value, cst.Dict):
        notes.note(
            original,
            "infra_overrides is not written out here: nest its dotted keys for overrides= "
            "({'env': {'NAME': 'value'}})",
        )
        return value
    entries = [
        (literal_of(e.key), e.value) for e in value.elements if isinstance(e, cst.DictElement)
    ]
    if len(entries) != len(value.elements) or not all(isinstance(k, str) for k, _ in entries):
        notes.note(original, "infra_overrides: nest its keys by hand for overrides=")
        return value
    if not any("." in key for key, _ in entries):  # already nested: keep the layout
        return value.with_changes(
            elements=[
                e.with_changes(value=stringified_env(e.value, notes.quote))
                if isinstance(e, cst.DictElement) and literal_of(e.key) == "env"
                else e
                for e in value.elements
            ]
        )
    nested: dict[str, Any] = {}
    for key, node in entries:
        *parents, last = key.split(".")
        target = nested
        for part in parents:
            existing = target.setdefault(part, {})
            if not isinstance(existing, dict):
                notes.note(original, f"infra_overrides: {key!r} and {part!r} overlap; nest by hand")
                return value
            target = existing
        target[last] = node
    return cst.parse_expression(_render(nested, notes.quote, in_env=False))


def _render(nested: dict[str, Any], quote: str, *, in_env: bool) -> str:
    items = []
    for key, value in nested.items():
        if isinstance(value, dict):
            text = _render(value, quote, in_env=key == "env")
        else:
            if key == "env":
                value = stringified_env(value, quote)
            elif in_env:
                value = stringified_env_value(value, quote)
            text = code_of(value).strip()
        items.append(f"{python_literal(key, quote)}: {text}")
    return "{" + ", ".join(items) + "}"


def _flow_location(
    original: cst.Call, updated: cst.Call, notes: Notes, directory: Path | None
) -> cst.Arg | None:
    """``flow_location=`` (with ``flow_name=``) as ``flow="path:function"``, or None when
    there is none or it cannot be found (then both stay, with a note)."""
    given = {keyword_of(arg): arg for arg in updated.args}
    arg = given.get("flow_location")
    if arg is None:
        return None
    location = literal_of(arg.value)
    flow_name = literal_of(given["flow_name"].value) if "flow_name" in given else None
    if not isinstance(location, str) or flow_name is NOT_LITERAL:
        notes.note(
            original,
            "flow_location= is not a plain string: name the flow by entrypoint, "
            "flow='path/to/file.py:function'",
        )
        return None
    try:
        entrypoint = entrypoint_for(location, flow_name, directory)
    except ValueError as exc:
        notes.note(
            original,
            f"flow_location=: {exc}; name the flow by entrypoint, flow='path/to/file.py:function'",
        )
        return None
    return renamed(arg, "flow").with_changes(
        value=cst.SimpleString(python_literal(entrypoint, notes.quote))
    )


def _storage(arg: cst.Arg, original: cst.Call, notes: Notes) -> cst.Arg | None:
    """Storage blocks have no translation yet: removed, with what to do
    (``_storage_notes``). A storage translation replaces this handler."""
    if _is_literal(arg, (None,)):
        return None
    notes.note(original, storage_note(f"{keyword_of(arg)}="))
    return None
