"""What a server is started with: where it listens, which store it opens, and its tokens.

Read before anything is imported or opened, so that a refused configuration (a public
address without a token, a token too short) is one message and nothing is started.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path

from shipway.errors import ConfigError

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "MIN_TOKEN_BYTES",
    "TOKEN_VAR",
    "ServerSettings",
    "is_loopback",
]

TOKEN_VAR = "SHIPWAY_SERVER_TOKEN"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4300
MIN_TOKEN_BYTES = 32


def is_loopback(host: str) -> bool:
    """Does ``host`` only listen on this machine (127.0.0.0/8, ::1, localhost)?"""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to any address
        return False


@dataclasses.dataclass(frozen=True)
class ServerSettings:
    """How one server runs. ``store_url`` None opens the store every command opens
    (``SHIPWAY_DATABASE_URL``, else the SQLite file under ``SHIPWAY_HOME``)."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    store_url: str | None = None
    token: str | None = dataclasses.field(default=None, repr=False)
    read_only_token: str | None = dataclasses.field(default=None, repr=False)
    max_body_bytes: int = 1_048_576
    """Requests with a larger body get 413 before anything reads it."""
    store_threads: int = 8
    """How many blocking store calls run at once, off the event loop."""

    def __post_init__(self) -> None:
        self.check()

    @property
    def auth_required(self) -> bool:
        return self.token is not None

    def check(self) -> None:
        """Refuse a configuration that would expose the store (ConfigError)."""
        for label, value in (("token", self.token), ("read-only token", self.read_only_token)):
            if value is not None and len(value.encode()) < MIN_TOKEN_BYTES:
                raise ConfigError(
                    f"the server's {label} is {len(value.encode())} bytes long; it must be "
                    f"at least {MIN_TOKEN_BYTES}",
                    hint="Make one with: "
                    "python -c 'import secrets; print(secrets.token_urlsafe(32))'",
                )
        if self.read_only_token is not None and self.token is None:
            raise ConfigError(
                "a read-only token was given without a token: nobody could run or cancel",
                hint=f"Give the full token too ({TOKEN_VAR} or --token-file).",
            )
        if self.token is not None and self.token == self.read_only_token:
            raise ConfigError("the read-only token is the same as the token; make another")
        if self.token is None and not is_loopback(self.host):
            raise ConfigError(
                f"refusing to serve the store on {self.host} without a token: anyone who "
                "can reach it could read runs and start flows",
                hint=f"Set {TOKEN_VAR} or pass --token-file (at least {MIN_TOKEN_BYTES} "
                "bytes), or listen on 127.0.0.1.",
            )

    @classmethod
    def from_sources(
        cls,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        store_url: str | None = None,
        token_file: Path | None = None,
        read_only_token_file: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> ServerSettings:
        """Settings from the command line's files and ``SHIPWAY_SERVER_TOKEN`` (the
        file wins over the variable)."""
        env = os.environ if environ is None else environ
        token = _read_token(token_file, "--token-file") if token_file else None
        if token is None:
            token = env.get(TOKEN_VAR, "").strip() or None
        read_only = (
            _read_token(read_only_token_file, "--read-only-token-file")
            if read_only_token_file
            else None
        )
        return cls(
            host=host, port=port, store_url=store_url, token=token, read_only_token=read_only
        )


def _read_token(path: Path, option: str) -> str:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"{option} {path}: cannot read it: {reason}") from None
    if not token:
        raise ConfigError(f"{option} {path}: the file is empty")
    return token
