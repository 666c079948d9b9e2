"""Agents: processes that take due flow runs from the store and run them.

Imported only by ``shipway agent``: it needs the store (SQLAlchemy) and the plugins.
"""

from __future__ import annotations

from shipway.agent._agent import Agent, AgentSettings, RunEvent

__all__ = ["Agent", "AgentSettings", "RunEvent"]
