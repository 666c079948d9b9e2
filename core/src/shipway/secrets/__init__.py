"""Secrets: which values are secret, the one masking function every display goes
through, and references that name a secret instead of holding it.

docs/security.md says the rules in full; in short, shown values are masked when they come
from a ``SecretStr`` field, from a variable whose name holds a secret word
(:func:`is_secret_name`), or from a secret reference, wherever they appear; and the
password of any URL is masked.
"""

from __future__ import annotations

from shipway.secrets._dump import dump_keeping_secrets
from shipway.secrets._errors import SecretNotFound, UnreadableSecret
from shipway.secrets._masking import (
    MASK,
    Masker,
    mask,
    mask_env,
    mask_url,
    reveal,
    secret_values,
)
from shipway.secrets._names import SECRET_WORDS, is_secret_name
from shipway.secrets._references import (
    SECRET_KEY_VAR,
    SECRET_VAR_PREFIX,
    SECRETS_DIR_VAR,
    SecretRef,
    secrets_dir,
    without_shipway_secrets,
)

__all__ = [
    "MASK",
    "SECRETS_DIR_VAR",
    "SECRET_KEY_VAR",
    "SECRET_VAR_PREFIX",
    "SECRET_WORDS",
    "Masker",
    "SecretNotFound",
    "SecretRef",
    "UnreadableSecret",
    "dump_keeping_secrets",
    "is_secret_name",
    "mask",
    "mask_env",
    "mask_url",
    "reveal",
    "secret_values",
    "secrets_dir",
    "without_shipway_secrets",
]
