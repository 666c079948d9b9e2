"""A flow that ignores the graceful stop: ``kill`` must force it once the grace period
is over (the "then forced" half of the kill contract)."""

from __future__ import annotations

import signal
import time

from shipway import flow


@flow
def stubborn(seconds: float = 600.0) -> None:
    # Ignored before the marker is printed: a SIGTERM sent once it arrived has no effect.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("ignoring SIGTERM", flush=True)
    time.sleep(seconds)
    print("slept to the end", flush=True)
