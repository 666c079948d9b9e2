"""Which environment variable names hold secrets: the one rule, documented in
docs/security.md."""

from __future__ import annotations

import re

__all__ = ["SECRET_WORDS", "is_secret_name"]

SECRET_WORDS = frozenset(
    {
        "APIKEY",
        "AUTH",
        "AUTHORIZATION",
        "COOKIE",
        "CREDENTIAL",
        "CREDS",
        "KEY",
        "OAUTH",
        "PASS",
        "PASSPHRASE",
        "PASSWD",
        "PASSWORD",
        "PRIVATE",
        "SECRET",
        "TOKEN",
    }
)
"""A name holding one of these as a whole word (or its plural) names a secret."""

# Words of a name: runs of letters or digits, a camelCase boundary starting a new word
# (``dbPassword`` -> db, Password; ``APIKey`` -> API, Key).
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def is_secret_name(name: str) -> bool:
    """Whether a variable called ``name`` holds a secret: ``ENCRYPTION_KEY``,
    ``API_TOKEN``, ``dbPassword`` and ``x-auth-cookies`` do; ``AUTHOR``, ``MONKEY`` and
    ``TOKENIZER_PATH`` do not (the words must be whole)."""
    for word in _WORD.findall(name):
        upper = word.upper()
        if upper in SECRET_WORDS or (upper.endswith("S") and upper[:-1] in SECRET_WORDS):
            return True
    return False
