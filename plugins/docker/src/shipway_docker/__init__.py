"""shipway-docker: run flow runs in Docker containers (``type: docker-container``)."""

__version__ = "0.1.0"

__all__ = ["__version__"]
