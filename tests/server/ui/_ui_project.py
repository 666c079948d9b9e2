"""What the browser tests' store holds: a flow with a required parameter and a pause
(so that its first line arrives while the run page is open), and the secret planted in
its deployment's environment."""

from __future__ import annotations

__all__ = ["GREET", "PLANTED_SECRET"]

PLANTED_SECRET = "planted-secret-value"

GREET = """
import time
from shipway import flow

@flow
def greet(name: str, pause: float = 2.0) -> None:
    print(f"Hello, {name}!", flush=True)
    time.sleep(pause)
    print("done", flush=True)
"""
