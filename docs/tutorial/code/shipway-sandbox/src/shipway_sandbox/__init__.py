"""shipway-sandbox: run flows as local processes that see only the environment
variables they are allowed, and stop them when they run too long."""

from shipway_sandbox.sandbox import Sandbox

__all__ = ["Sandbox"]
