"""The two ways a secret can be missing when a run needs it."""

from __future__ import annotations

from shipway.errors import ConfigError, ShipwayError

__all__ = ["SecretNotFound", "UnreadableSecret"]


class SecretNotFound(ConfigError):
    """A ``{secret: NAME}`` reference has no value where this process looks for it."""


class UnreadableSecret(ShipwayError):
    """A secret stored encrypted cannot be decrypted here: no key, or another key."""
