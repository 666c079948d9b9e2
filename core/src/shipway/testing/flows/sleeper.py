"""A flow that sleeps until it is stopped and cleans up when it is (``kill`` tests)."""

from __future__ import annotations

import time

from shipway import flow


@flow
def sleeper(seconds: float = 600.0) -> None:
    # "started" is printed inside the try: a SIGTERM right after it still runs the cleanup.
    try:
        print("started", flush=True)
        time.sleep(seconds)
        print("slept to the end", flush=True)
    finally:
        print("cleanup", flush=True)
