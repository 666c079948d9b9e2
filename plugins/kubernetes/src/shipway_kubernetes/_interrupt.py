"""End a streaming read that another thread is blocked in, without waiting for it.

Watches and log streams are read in worker threads. Closing their response from the
event loop (``response.close()``) would *wait* for the read in progress: the buffered
reader holds its lock while it waits for bytes, and a quiet watch sends none until the
server ends it, a minute later. That froze the event loop at the end of every run.
Shutting the socket down takes no lock: the blocked read returns at once (end of stream)
and the reading thread, which checks its stop flag, ends.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any

__all__ = ["interrupt"]


def interrupt(response: Any) -> None:
    """Make any read of ``response`` (a urllib3 response) return now; never blocks."""
    sock = _socket_of(response)
    if sock is not None:
        with contextlib.suppress(OSError):
            # socket.socket's own shutdown: SSLSocket.shutdown would also drop its TLS
            # state under the feet of the reading thread.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _socket_of(response: Any) -> socket.socket | None:
    """The socket under a urllib3 response (its http.client response's file, else its
    connection); None once the response has been read to its end and closed."""
    raw_response = getattr(response, "_fp", None)  # http.client.HTTPResponse
    buffered = getattr(raw_response, "fp", None)  # BufferedReader over a SocketIO
    sock = getattr(getattr(buffered, "raw", None), "_sock", None)
    if sock is None:
        sock = getattr(getattr(response, "_connection", None), "sock", None)
    return sock if isinstance(sock, socket.socket) else None
