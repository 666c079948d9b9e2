"""Print the length and SHA-256 of a parameter: a large job must arrive intact."""

from __future__ import annotations

import hashlib

from shipway import flow

MARKER = "shipway-digest:"


@flow
def digest(data: str) -> None:
    print(MARKER, len(data), hashlib.sha256(data.encode()).hexdigest(), flush=True)
