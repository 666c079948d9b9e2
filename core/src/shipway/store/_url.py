"""Which database the store uses, and how its URL is shown."""

from __future__ import annotations

import os

from shipway.environment import HOME_VAR, shipway_home
from shipway.secrets import mask_url as mask_secret_url

__all__ = ["DATABASE_URL_VAR", "HOME_VAR", "database_url", "mask_url", "shipway_home"]

DATABASE_URL_VAR = "SHIPWAY_DATABASE_URL"


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


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***``: safe to print or log (the rule of
    ``shipway.secrets.mask_url``, with the short placeholder store URLs have always had)."""
    return mask_secret_url(url, placeholder="***")
