"""shipway-fsspec: flow code in any fsspec file system (``type: remote-file-system``)."""

from shipway_fsspec._remote_file_system import RemoteFileSystem

__version__ = "0.1.0"

__all__ = ["RemoteFileSystem", "__version__"]
