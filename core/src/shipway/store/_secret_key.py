"""The key that encrypts the secrets the store keeps: ``$SHIPWAY_SECRET_KEY``, else the
file ``$SHIPWAY_HOME/secret.key``, created (0600) the first time a secret is stored.

Every process that reads the same store's secrets (agents on other machines too) needs
the same key: docs/security.md says how to hand it over."""

from __future__ import annotations

import dataclasses
import functools
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from shipway.environment import HOME_VAR, shipway_home
from shipway.secrets import SECRET_KEY_VAR
from shipway.store._errors import StoreError

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

__all__ = ["KEY_FILE_NAME", "SECRET_KEY_VAR", "SecretKey", "SecretKeyError", "secret_key"]

KEY_FILE_NAME = "secret.key"

_MAKE_ONE = (
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


class SecretKeyError(StoreError):
    """The secret key is set but unusable (not a key, or its file cannot be read or made)."""


@dataclasses.dataclass(frozen=True)
class SecretKey:
    fernet: Fernet
    source: str
    """Where it came from, for messages: the variable's name or the file's path."""


def key_file() -> Path:
    return shipway_home() / KEY_FILE_NAME


def secret_key(*, create: bool) -> SecretKey | None:
    """The key, from ``SHIPWAY_SECRET_KEY`` or the key file; None when neither exists
    and ``create`` is False (``create``: make the file)."""
    value = os.environ.get(SECRET_KEY_VAR)
    if value:
        return SecretKey(_fernet(value.strip().encode(), SECRET_KEY_VAR), SECRET_KEY_VAR)
    path = key_file()
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        if not create:
            return None
        text = _create(path)
    except OSError as exc:
        raise SecretKeyError(
            f"cannot read the secret key {path}: {exc.strerror or exc}",
            hint=f"Make it readable by this user, or set {SECRET_KEY_VAR}.",
        ) from None
    return SecretKey(_fernet(text.strip(), str(path)), str(path))


@functools.lru_cache(maxsize=8)
def _fernet(key: bytes, source: str) -> Fernet:
    from cryptography.fernet import Fernet

    try:
        return Fernet(key)
    except ValueError:
        raise SecretKeyError(
            f"the secret key in {source} is not a key: it must be 32 url-safe base64-encoded bytes",
            hint=f"Make one with: {_MAKE_ONE}",
        ) from None


def _create(path: Path) -> bytes:
    """Write a new key readable by this user only; when another process wrote one
    meanwhile, theirs is used (a link fails when the name exists, a partly written file
    is never seen)."""
    from cryptography.fernet import Fernet

    key = Fernet.generate_key()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(key + b"\n")
            os.link(draft, path)
        except FileExistsError:
            return path.read_bytes()
        finally:
            draft.unlink(missing_ok=True)
    except OSError as exc:
        raise SecretKeyError(
            f"cannot create the secret key {path}: {exc.strerror or exc}",
            hint=f"Point {HOME_VAR} at a writable folder, or set {SECRET_KEY_VAR} "
            f"(make a key with: {_MAKE_ONE}).",
        ) from None
    return key
