"""Which database the store uses, and how its URL is shown."""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["DATABASE_URL_VAR", "HOME_VAR", "database_url", "mask_url", "shipway_home"]

DATABASE_URL_VAR = "SHIPWAY_DATABASE_URL"
HOME_VAR = "SHIPWAY_HOME"


def shipway_home() -> Path:
    """``$SHIPWAY_HOME``, default ``~/.shipway`` (not created here)."""
    value = os.environ.get(HOME_VAR)
    return Path(value).expanduser() if value else Path.home() / ".shipway"


def database_url(url: str | None = None) -> str:
    """The SQLAlchemy URL: the argument, else ``$SHIPWAY_DATABASE_URL``, else the SQLite
    file under SHIPWAY_HOME. ``postgres://`` and ``postgresql://`` mean psycopg 3."""
    url = url or os.environ.get(DATABASE_URL_VAR) or ""
    if not url:
        return f"sqlite:///{shipway_home() / 'shipway.db'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


_PASSWORD = re.compile(r"^(?P<head>[a-z0-9+.-]+://[^:/@]*:)(?P<password>[^@]*)(?P<tail>@.*)$", re.I)


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***``: safe to print or log."""
    match = _PASSWORD.match(url)
    if not match:
        return url
    return f"{match['head']}***{match['tail']}"
