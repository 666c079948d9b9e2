"""When an agent counts as alive: one definition for the agents (which adopt the runs of
an agent that is gone), ``shipway agent ls`` (which lists the live ones) and ``shipway
deployment run`` (which warns when no live agent polls the run's work queue).

An agent tells the store it is alive every ``heartbeat_interval`` seconds. One that has
been silent for ``MISSED_HEARTBEATS`` intervals, or that deregistered, is gone. The lease
an agent holds on each of its runs, renewed with its heartbeats, lasts as long: its runs
are adopted once it is gone and their leases have expired. The
store does not record each agent's interval, so an agent judges the others by its own,
and a command by the default one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["HEARTBEAT_INTERVAL", "MISSED_HEARTBEATS", "alive_since", "silence_limit"]

HEARTBEAT_INTERVAL = 10.0
"""Seconds between an agent's heartbeats, unless ``--heartbeat-interval`` says otherwise."""
MISSED_HEARTBEATS = 3
"""Heartbeats an agent may miss (a slow database, a busy host) before it counts as gone."""


def silence_limit(heartbeat_interval: float | None = None) -> timedelta:
    """How long an agent heartbeating every ``heartbeat_interval`` seconds (default:
    ``HEARTBEAT_INTERVAL``) may stay silent and still count as alive."""
    interval = HEARTBEAT_INTERVAL if heartbeat_interval is None else heartbeat_interval
    return timedelta(seconds=MISSED_HEARTBEATS * interval)


def alive_since(now: datetime, heartbeat_interval: float | None = None) -> datetime:
    """The oldest last heartbeat of an agent still alive at ``now``: what
    ``Store.list_agents(alive_since=...)`` takes."""
    return now - silence_limit(heartbeat_interval)
