"""The smallest flow: print a greeting. Its output must reach the output sink."""

from __future__ import annotations

from shipway import flow


@flow
def hello(name: str = "world") -> str:
    print(f"Hello, {name}!", flush=True)
    return name
