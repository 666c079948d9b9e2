"""A flow that raises: the run must end with a non-zero status."""

from __future__ import annotations

from shipway import flow


@flow
def failing(message: str = "failing on purpose") -> None:
    print("about to fail", flush=True)
    raise RuntimeError(message)
