"""A fault-injecting proxy in front of the local API server.

The real API server will not fail on demand, but the plugin must survive 5xx answers,
dropped connections and silent watches. This proxy terminates TLS with the API server's
own certificate (so clients keep trusting the stack's CA and can see HTTP paths), and
re-originates each request to the API server with the admin client certificate. So every
request through it is made as the admin, whatever credentials the client presents.

One request per connection upstream: the proxy forwards a request with
``Connection: close`` and pipes the response back until the API server closes, then closes
the client connection (HTTP clients reconnect transparently). Faults:

- ``drop_connections()``: abort every open connection now (watches, log streams included);
- ``fail_next(count, status=503)``: the next ``count`` requests are answered by the proxy
  with that status and a Kubernetes ``Status`` body, without reaching the API server;
- ``stall_watches(True)``: watch requests (``watch=true`` or ``/watch/`` paths) are
  accepted and then receive nothing until ``drop_connections()`` or ``reset()``.

It runs its own asyncio loop in a daemon thread, so synchronous tests can use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import threading
import urllib.parse
from pathlib import Path
from typing import Any

_REASONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    429: "Too Many Requests",
}
_STATUS_REASONS = {
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
    429: "TooManyRequests",
}


class FaultProxy:
    """See the module docstring. ``kubeconfig`` points clients at the proxy."""

    def __init__(
        self, target_kubeconfig: Path, server_cert: Path, server_key: Path, directory: Path
    ) -> None:
        config = json.loads(target_kubeconfig.read_text(encoding="utf-8"))
        cluster = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
        upstream = urllib.parse.urlsplit(cluster["server"])
        self._upstream_host = upstream.hostname or "127.0.0.1"
        self._upstream_port = upstream.port or 443
        self._upstream_tls = ssl.create_default_context(cafile=cluster["certificate-authority"])
        self._upstream_tls.load_cert_chain(user["client-certificate"], user["client-key"])
        self._server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._server_tls.load_cert_chain(str(server_cert), str(server_key))
        self._config = config
        self.kubeconfig = directory / "fault-proxy.kubeconfig"
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._fail_count = 0
        self._fail_status = 503
        self._stall = False
        self._transports: set[asyncio.WriteTransport] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, daemon=True, name="fault-proxy"
        )
        self._server: asyncio.Server | None = None
        self.port = 0

    # -- control (from the test's thread) ---------------------------------------------------

    def start(self) -> FaultProxy:
        self._thread.start()
        server: asyncio.Server = self._call(
            asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self._server_tls)
        )
        self._server = server
        self.port = int(server.sockets[0].getsockname()[1])
        config = json.loads(json.dumps(self._config))
        config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{self.port}"
        self.kubeconfig.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        return self

    def stop(self) -> None:
        """Close everything and end the loop, with no task left pending."""

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for transport in list(self._transports):
                transport.abort()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self._call(shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def drop_connections(self) -> None:
        """Abort every open connection, both sides, now."""

        async def abort_all() -> None:
            for transport in list(self._transports):
                transport.abort()
            self._transports.clear()

        self._call(abort_all())

    def fail_next(self, count: int, status: int = 503) -> None:
        with self._lock:
            self._fail_count, self._fail_status = count, status

    def stall_watches(self, stall: bool = True) -> None:
        with self._lock:
            self._stall = stall

    def reset(self) -> None:
        """No more faults; stalled watch connections are closed."""
        with self._lock:
            self._fail_count, self._stall = 0, False
        self.drop_connections()

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    # -- the proxy (on its loop) -------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._transports.add(writer.transport)
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    return
                head, body, target = request
                with self._lock:
                    self.requests.append(target)
                    failing = self._fail_count > 0
                    if failing:
                        self._fail_count -= 1
                    status, stall = self._fail_status, self._stall
                if failing:
                    writer.write(_error_response(status))
                    await writer.drain()
                    continue
                if stall and _is_watch(target):
                    await reader.read()  # nothing is sent until the connection is dropped
                    return
                await self._forward(head, body, writer)
                return
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError):
            pass
        finally:
            self._transports.discard(writer.transport)
            writer.transport.abort()

    async def _read_request(self, reader: asyncio.StreamReader) -> tuple[bytes, bytes, str] | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        kept = [lines[0]]
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
            if name.strip().lower() not in ("connection", "keep-alive"):
                kept.append(line)
        if "chunked" in headers.get("transfer-encoding", ""):
            body = await _read_chunked(reader)
        else:
            body = await reader.readexactly(int(headers.get("content-length", "0")))
        kept.append("Connection: close")
        return ("\r\n".join(kept) + "\r\n\r\n").encode("latin-1"), body, f"{method} {target}"

    async def _forward(self, head: bytes, body: bytes, client: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(
            self._upstream_host,
            self._upstream_port,
            ssl=self._upstream_tls,
            server_hostname=self._upstream_host,
        )
        self._transports.add(upstream_writer.transport)
        try:
            upstream_writer.write(head + body)
            await upstream_writer.drain()
            while chunk := await upstream_reader.read(65536):
                client.write(chunk)
                await client.drain()
        finally:
            self._transports.discard(upstream_writer.transport)
            upstream_writer.transport.abort()


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    """A chunked body, kept chunked (the framing header is forwarded as it came)."""
    raw = b""
    while True:
        size_line = await reader.readuntil(b"\r\n")
        raw += size_line
        size = int(size_line.split(b";")[0], 16)
        raw += await reader.readexactly(size + 2)
        if size == 0:
            return raw


def _is_watch(target: str) -> bool:
    url = urllib.parse.urlsplit(target.split(" ", 1)[1])
    watch = urllib.parse.parse_qs(url.query).get("watch", [""])[0].lower()
    return watch in ("true", "1") or "/watch/" in url.path


def _error_response(status: int) -> bytes:
    body = json.dumps(
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": f"injected by the test fault proxy ({status})",
            "reason": _STATUS_REASONS.get(status, "InternalError"),
            "code": status,
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@contextlib.contextmanager
def running_proxy(
    target_kubeconfig: Path, server_cert: Path, server_key: Path, directory: Path
) -> Any:
    proxy = FaultProxy(target_kubeconfig, server_cert, server_key, directory).start()
    try:
        yield proxy
    finally:
        proxy.stop()
