import os
import time

from shipway import flow


@flow
def report(name: str = "world"):
    print(f"Hello {name}!")
    print("The flow sees:", " ".join(sorted(os.environ)))


@flow
def slow(seconds: float = 600):
    print("Working...", flush=True)
    try:
        time.sleep(seconds)
    finally:
        print("Stopped, cleaning up.")
