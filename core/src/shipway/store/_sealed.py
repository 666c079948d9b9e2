"""Secrets in the store's JSON, encrypted: a deployment's infrastructure and a run's
infrastructure and overrides are written with every secret value sealed, and read back
with each one as a :class:`SealedSecret`, decrypted only when a run needs it.

What is sealed: ``SecretStr`` values (the Docker registry password) and the values of
secret-named variables (``shipway.secrets.is_secret_name``) in ``env``. Secret references
(``{secret: NAME}``) are names, not secrets: they are kept as they are. A sealed value is
stored as ``{"$encrypted": "<Fernet token>"}``.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

from shipway.secrets import UnreadableSecret, is_secret_name, reveal
from shipway.store._secret_key import SECRET_KEY_VAR, SecretKey, key_file, secret_key

__all__ = ["SealedSecret", "seal", "sealed_equal", "unseal"]

_MARKER = "$encrypted"


class SealedSecret(SecretStr):
    """A secret read from the store, still encrypted: :meth:`get_secret_value` decrypts it
    (raising :class:`UnreadableSecret`, which names it, when this machine lacks the key).
    It is masked like any ``SecretStr`` and written back without being decrypted."""

    def __init__(self, token: str, where: str) -> None:
        super().__init__("")
        self.token = token
        self.where = where
        self._plain: str | None = None

    def get_secret_value(self) -> str:
        if self._plain is None:
            self._plain = _decrypt(self.token, self.where)
        return self._plain

    def _display(self) -> str:
        return "**********"

    def __len__(self) -> int:
        return len(self.get_secret_value())

    def __eq__(self, other: object) -> bool:
        """Equal to a secret or a string of the same value (False when undecryptable)."""
        try:
            if isinstance(other, SecretStr):
                other = other.get_secret_value()
            if not isinstance(other, str):
                return NotImplemented
            return hmac.compare_digest(
                self.get_secret_value().encode("utf-8", "surrogatepass"),
                other.encode("utf-8", "surrogatepass"),
            )
        except UnreadableSecret:
            return False

    def __hash__(self) -> int:
        try:
            return hash(self.get_secret_value())
        except UnreadableSecret:
            return hash(self.token)


def seal(value: Any) -> str:
    """``value`` as the store's JSON text, its secrets encrypted (the key is made on first
    use, see ``_secret_key``)."""
    return json.dumps(_sealed(value, _Encrypter(), in_env=False), sort_keys=True, default=str)


def unseal(text: str, what: str) -> Any:
    """The JSON text back, each sealed value a :class:`SealedSecret`; ``what`` says whose
    it is for messages (``the infrastructure of deployment 'etl'``)."""
    return _unsealed(json.loads(text), (), what)


def sealed_equal(first: str, second: str) -> bool:
    """Whether two sealed texts hold the same values (their tokens differ each time)."""
    if first == second:
        return True
    try:
        return bool(reveal(unseal(first, "")) == reveal(unseal(second, "")))
    except UnreadableSecret:
        return False


class _Encrypter:
    def __init__(self) -> None:
        self._key: SecretKey | None = None

    def __call__(self, plain: str) -> dict[str, str]:
        if self._key is None:
            self._key = secret_key(create=True)
            assert self._key is not None
        return {_MARKER: self._key.fernet.encrypt(plain.encode("utf-8")).decode("ascii")}


def _sealed(value: Any, encrypt: _Encrypter, *, in_env: bool) -> Any:
    if isinstance(value, SealedSecret):
        return {_MARKER: value.token}  # as it was: no key needed to copy it
    if isinstance(value, SecretStr):
        return encrypt(value.get_secret_value())
    if isinstance(value, Mapping):
        return {
            key: encrypt(item)
            if in_env and isinstance(item, str) and is_secret_name(str(key))
            else _sealed(item, encrypt, in_env=key == "env" and not in_env)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_sealed(item, encrypt, in_env=False) for item in value]
    return value


def _unsealed(value: Any, path: tuple[str, ...], what: str) -> Any:
    if isinstance(value, dict):
        token = value.get(_MARKER)
        if isinstance(token, str) and len(value) == 1:
            return SealedSecret(token, f"{'.'.join(path)} in {what}")
        return {key: _unsealed(item, (*path, str(key)), what) for key, item in value.items()}
    if isinstance(value, list):
        return [_unsealed(item, (*path, str(index)), what) for index, item in enumerate(value)]
    return value


def _decrypt(token: str, where: str) -> str:
    from cryptography.fernet import InvalidToken

    key = secret_key(create=False)
    hint = (
        f"Every machine that runs this store's deployments needs the key that encrypted "
        f"them: set {SECRET_KEY_VAR} to it, or copy the secret.key file of the machine that "
        "stored them (see docs/security.md)."
    )
    if key is None:
        raise UnreadableSecret(
            f"cannot decrypt {where}: no secret key here ({SECRET_KEY_VAR} is not set and "
            f"{key_file()} does not exist)",
            hint=hint,
        )
    try:
        return key.fernet.decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        raise UnreadableSecret(
            f"cannot decrypt {where} with the secret key from {key.source}: it was encrypted "
            "with another key",
            hint=hint,
        ) from None
