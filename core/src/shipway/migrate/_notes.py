from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Note"]


@dataclass(frozen=True, order=True)
class Note:
    """Something the rewrite left for a person: ``line`` is in the file as it was read."""

    line: int
    message: str

    def format(self, display: str) -> str:
        return f"{display}:{self.line}: {self.message}"
