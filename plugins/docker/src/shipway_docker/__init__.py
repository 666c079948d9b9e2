"""shipway-docker: run flow runs in Docker containers (``type: docker-container``)."""

from shipway_docker._container import DockerContainer, ImageRegistry

__version__ = "0.1.0"

__all__ = ["DockerContainer", "ImageRegistry", "__version__"]
