"""Session-wide git servers on 127.0.0.1 for the git storage tests."""

from __future__ import annotations

from _git_servers import servers

__all__ = ["servers"]
