"""shipway-process: run flow runs as local processes (``type: process``)."""

from shipway_process._process import Process

__version__ = "0.1.0"

__all__ = ["Process", "__version__"]
