from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from libcst import CSTNode

__all__ = ["Note", "Notes"]


@dataclass(frozen=True, order=True)
class Note:
    """Something the rewrite left for a person: ``line`` is in the file as it was read."""

    line: int
    message: str

    def format(self, display: str) -> str:
        return f"{display}:{self.line}: {self.message}"


class Notes(Protocol):
    """What a rewrite step needs from the plan: where to leave a note, and the quote the
    file prefers for the strings the rewrite writes."""

    quote: str

    def note(self, node: CSTNode, message: str) -> None: ...
