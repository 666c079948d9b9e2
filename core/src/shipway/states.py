"""Flow run states, shared by the foreground runner, the agent, observers and the store."""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shipway.infrastructure import InfrastructureResult

__all__ = ["State", "StateType"]


class StateType(str, enum.Enum):
    SCHEDULED = "Scheduled"
    PENDING = "Pending"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CRASHED = "Crashed"
    CANCELLING = "Cancelling"
    CANCELLED = "Cancelled"

    @property
    def is_final(self) -> bool:
        return self in _FINAL

    def __str__(self) -> str:
        return self.value


_FINAL = frozenset({StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED})


@dataclasses.dataclass(frozen=True)
class State:
    """One step in a flow run's history.

    ``identifier`` is set once the infrastructure has started the run; ``result``
    on final states reached through the infrastructure.
    """

    type: StateType
    message: str = ""
    identifier: str | None = None
    result: InfrastructureResult | None = None
    timestamp: datetime = dataclasses.field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def name(self) -> str:
        return self.type.value
