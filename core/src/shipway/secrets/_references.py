"""Secret references: ``env: {DB_PASSWORD: {secret: db-password}}`` names a secret
instead of holding it. The store keeps the name; the process that starts the run (an
agent, ``shipway run``) reads the value from its own environment or a secrets folder,
at the last moment. (A platform with secrets of its own may read it there instead:
Kubernetes maps a reference to a ``secretKeyRef``.)
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shipway.environment import HOME_VAR, shipway_home
from shipway.secrets._errors import SecretNotFound

__all__ = [
    "SECRETS_DIR_VAR",
    "SECRET_KEY_VAR",
    "SECRET_VAR_PREFIX",
    "SecretRef",
    "secrets_dir",
    "without_shipway_secrets",
]

SECRETS_DIR_VAR = "SHIPWAY_SECRETS_DIR"
SECRET_VAR_PREFIX = "SHIPWAY_SECRET_"
SECRET_KEY_VAR = "SHIPWAY_SECRET_KEY"
"""The key the store encrypts secrets with (see ``shipway.store``): no reference reads it."""

_PART = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
SECRET_NAME_PATTERN = rf"^{_PART}(/{_PART})?$"


def without_shipway_secrets(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without the variables only shipway may read (the store's key and the
    ``SHIPWAY_SECRET_<NAME>`` values references are read from): what a run started
    from this process may inherit. A run gets a secret by referencing it."""
    return {
        name: value for name, value in environ.items() if not name.startswith(SECRET_VAR_PREFIX)
    }


def _variable(secret: str) -> str:
    return SECRET_VAR_PREFIX + re.sub(r"[^A-Z0-9]", "_", secret.upper())


def secrets_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$SHIPWAY_SECRETS_DIR``, default ``$SHIPWAY_HOME/secrets``."""
    environ = os.environ if environ is None else environ
    value = environ.get(SECRETS_DIR_VAR)
    if value:
        return Path(value).expanduser()
    home = environ.get(HOME_VAR)
    return (Path(home).expanduser() if home else shipway_home()) / "secrets"


class SecretRef(BaseModel):
    """A reference to a secret by name: ``SecretRef("db-password")`` in Python,
    ``{secret: db-password}`` in shipway.yaml and ``--override``.

    ``name/key`` names one key of a secret with several (``db/password``); on Kubernetes
    that is the Secret ``db`` and its key ``password`` (a plain name: key ``value``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    secret: str = Field(
        pattern=SECRET_NAME_PATTERN,
        description="The secret's name: letters, digits, '.', '-', '_'; 'name/key' for one key.",
    )

    @field_validator("secret")
    @classmethod
    def _not_the_store_key(cls, value: str) -> str:
        if _variable(value) == SECRET_KEY_VAR:
            raise ValueError(
                f"{value!r} cannot name a secret: its variable {SECRET_KEY_VAR} holds the "
                "key the store encrypts secrets with"
            )
        return value

    def __init__(self, secret: str | None = None, /, **data: Any) -> None:
        if secret is not None:
            data["secret"] = secret
        super().__init__(**data)

    @property
    def name(self) -> str:
        """The secret (a Kubernetes Secret's name)."""
        return self.secret.partition("/")[0]

    @property
    def key(self) -> str | None:
        """The key inside the secret, when the reference names one."""
        return self.secret.partition("/")[2] or None

    @property
    def variable(self) -> str:
        """The variable a process reads it from: ``db-password`` ->
        ``SHIPWAY_SECRET_DB_PASSWORD``."""
        return _variable(self.secret)

    def read(self, environ: Mapping[str, str] | None = None) -> str:
        """The secret's value from ``environ`` (default: this process's environment) or
        from its file in the secrets folder (one trailing newline dropped)."""
        environ = os.environ if environ is None else environ
        value = environ.get(self.variable)
        if value is not None:
            return value
        path = secrets_dir(environ) / self.secret
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SecretNotFound(
                f"secret {self.secret!r} not found: set {self.variable} or create {path}"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise SecretNotFound(
                f"secret {self.secret!r} cannot be read from {path}: {reason}"
            ) from None
        for ending in ("\r\n", "\n"):  # `echo value > file` adds one
            if text.endswith(ending):
                return text[: -len(ending)]
        return text

    def __str__(self) -> str:
        return f"{{secret: {self.secret}}}"
