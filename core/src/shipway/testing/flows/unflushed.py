"""A flow that prints without flushing, then sleeps: its line must arrive while it
still runs (the engine is started with PYTHONUNBUFFERED=1, and run() must forward
output as it arrives), not when the flow exits."""

from __future__ import annotations

import time

from shipway import flow

MARKER = "shipway-unflushed:"


@flow
def unflushed(seconds: float = 4.0) -> None:
    print(MARKER, "printed without flush")  # no flush=True: on purpose
    time.sleep(seconds)
    print(MARKER, "done", flush=True)
