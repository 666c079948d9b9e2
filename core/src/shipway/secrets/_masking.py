"""The one masking function: everything that shows a deployment, a run or its output to
a person goes through :func:`mask` (or a :class:`Masker`, its streaming form).

What is masked, replaced by ``********``:

- values of ``SecretStr`` fields (the Docker registry password, a stored secret);
- values of environment variables whose names look secret (:func:`is_secret_name`), in an
  ``env`` mapping or in an ``env`` list of ``{name, value}`` items (a Kubernetes manifest);
- each of those values, and each value given to ``hide`` (what secret references
  resolved to), wherever it appears inside any other text;
- the password of a URL (``scheme://user:password@host``) inside any text.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pydantic import SecretStr

from shipway.secrets._errors import UnreadableSecret
from shipway.secrets._names import is_secret_name

__all__ = ["MASK", "Masker", "mask", "mask_env", "mask_url", "reveal", "secret_values"]

MASK = "********"

T = TypeVar("T")

# Shorter values, and words that are no secret whatever variable holds them, are masked
# where they are a variable's whole value but not searched for in other text: masking
# every "true" of a log because AUTH_ENABLED=true would hide more than it protects.
_MIN_SEARCHED_LENGTH = 4
_NOT_SEARCHED = frozenset({"true", "false", "null", "none"})

# scheme://user:password@ -- the password runs to the last '@' before a '/' or a space.
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[a-z][a-z0-9+.-]*://[^\s/:@]*:)(?P<password>[^\s/]+)(?=@)", re.I
)


def mask_url(text: str, *, placeholder: str = MASK) -> str:
    """``text`` with the password of every URL in it replaced by ``placeholder``."""
    return _URL_PASSWORD.sub(lambda match: f"{match['head']}{placeholder}", text)


class Masker:
    """Masks text and data with a set of secret values known in advance (a run's), plus
    URL passwords; :meth:`hide` adds values as they become known."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.hide(values)

    def hide(self, values: Iterable[str]) -> None:
        """Mask these values too, from now on."""
        searched = {
            value
            for value in values
            if len(value) >= _MIN_SEARCHED_LENGTH and value.lower() not in _NOT_SEARCHED
        }
        if searched <= self._values:
            return
        self._values |= searched
        # Longest first: a secret that contains another is masked whole.
        ordered = sorted(self._values, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(value) for value in ordered))

    def text(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        return mask_url(text)

    def line(self, data: bytes) -> bytes:
        """A line of raw output; bytes that are not UTF-8 pass through unchanged."""
        text = data.decode("utf-8", errors="surrogateescape")
        return self.text(text).encode("utf-8", errors="surrogateescape")

    def data(self, value: T) -> T:
        """A copy of ``value`` (mappings, lists, strings, ``SecretStr``) with every secret
        masked, as the module docstring says."""
        # The same shape back: mappings stay mappings, strings strings.
        return _masked(self, value, in_env=False)  # type: ignore[no-any-return]


def mask(value: T, *, hide: Iterable[str] = ()) -> T:
    """``value`` as it may be shown: a deployment's or a run's data (JSON-like mappings,
    lists and strings, ``SecretStr`` included) or a text, with every secret in it masked.

    Secrets are found in ``value`` itself (``SecretStr`` values, secret-named variables)
    and masked wherever else they appear in it; ``hide`` adds values known elsewhere."""
    return Masker([*hide, *secret_values(value)]).data(value)


def mask_env(env: Mapping[str, T]) -> dict[str, T | str]:
    """An environment mapping with the values of secret-named variables masked (and
    secrets inside the other values too)."""
    masked: dict[str, Any] = mask({"env": dict(env)})["env"]
    return masked


def secret_values(value: Any) -> set[str]:
    """The secret values held in ``value``: those of ``SecretStr`` leaves and of
    secret-named variables. A stored secret that cannot be read here is left out (it is
    masked where it stands all the same)."""
    found: set[str] = set()
    _collect(value, found, in_env=False)
    return found


def reveal(value: Any) -> Any:
    """A copy of ``value`` with every ``SecretStr`` leaf replaced by its plain value: what
    a model validates again. Raises :class:`UnreadableSecret` for a stored secret that
    cannot be decrypted here."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Mapping):
        return {key: reveal(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(reveal(item) for item in value)
    return value


def _masked(masker: Masker, value: Any, *, in_env: bool) -> Any:
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(value, str):
        return masker.text(value)
    if isinstance(value, Mapping):
        return {
            key: _masked_entry(masker, str(key), item, in_env=in_env) for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        items = [_masked_item(masker, item, in_env=in_env) for item in value]
        return items if isinstance(value, list) else tuple(items)
    return value


def _masked_entry(masker: Masker, key: str, item: Any, *, in_env: bool) -> Any:
    if in_env and isinstance(item, str) and is_secret_name(key):
        return MASK
    return _masked(masker, item, in_env=key == "env" and not in_env)


def _masked_item(masker: Masker, item: Any, *, in_env: bool) -> Any:
    if in_env and _secret_env_item(item):
        return {**_masked(masker, item, in_env=False), "value": MASK}
    return _masked(masker, item, in_env=False)


def _secret_env_item(item: Any) -> bool:
    """``{"name": "API_TOKEN", "value": "..."}``: an env item of a container."""
    return (
        isinstance(item, Mapping)
        and isinstance(item.get("name"), str)
        and isinstance(item.get("value"), str)
        and is_secret_name(item["name"])
    )


def _collect(value: Any, found: set[str], *, in_env: bool) -> None:
    if isinstance(value, SecretStr):
        with contextlib.suppress(UnreadableSecret):
            found.add(value.get_secret_value())
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if in_env and isinstance(item, str) and is_secret_name(str(key)):
                found.add(item)
            else:
                _collect(item, found, in_env=key == "env" and not in_env)
    elif isinstance(value, (list, tuple)):
        for item in value:
            if in_env and _secret_env_item(item):
                found.add(item["value"])
            else:
                _collect(item, found, in_env=False)
