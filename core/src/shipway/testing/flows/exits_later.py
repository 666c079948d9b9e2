"""A flow that prints ``started``, sleeps, and exits with a given status (re-attach
tests: the status a re-attached run reports must be the real one)."""

from __future__ import annotations

import time

from shipway import flow


@flow
def exits_later(seconds: float = 5.0, code: int = 3) -> None:
    print("started", flush=True)
    time.sleep(seconds)
    raise SystemExit(code)
