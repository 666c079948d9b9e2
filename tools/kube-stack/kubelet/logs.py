"""The kubelet's HTTPS endpoint: ``/containerLogs/{namespace}/{pod}/{container}`` (what
the API server's ``pods/{name}/log`` proxies to, with ``follow``, ``timestamps``,
``sinceTime``, ``sinceSeconds``, ``tailLines``, ``limitBytes``) and ``/healthz``. Logs
come from Docker, whose timestamps are RFC 3339 with nanoseconds, as the kubelet's."""

from __future__ import annotations

import contextlib
import datetime
import logging
import re
import ssl
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from informer import PodInformer
from pods import simulated_seconds
from runtime import Runtime

log = logging.getLogger("kubelet.logs")


# Docker writes 9 fraction digits; the kubelet uses Go's RFC3339Nano (zeros trimmed).
_DOCKER_TIMESTAMP = re.compile(rb"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d*?)0*)?Z")


def _as_kubelet_timestamp(frame: bytes) -> bytes:
    """One Docker log frame (one entry, with its timestamp first) as the kubelet writes it."""

    def trimmed(match: re.Match[bytes]) -> bytes:
        return match.group(1) + (b"." + match.group(2) if match.group(2) else b"") + b"Z"

    return _DOCKER_TIMESTAMP.sub(trimmed, frame, count=1)


def _flag(query: dict[str, list[str]], name: str) -> bool:
    return query.get(name, ["false"])[0].lower() in ("true", "1")


class _Handler(BaseHTTPRequestHandler):
    server: LogServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        parts = [urllib.parse.unquote(p) for p in url.path.strip("/").split("/")]
        if parts == ["healthz"]:
            self._text(200, "ok")
        elif len(parts) == 4 and parts[0] == "containerLogs":
            namespace, name, container = parts[1:]
            self._logs(namespace, name, container, urllib.parse.parse_qs(url.query))
        else:
            self._text(404, "404 page not found")

    def _text(self, code: int, text: str) -> None:
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _logs(self, namespace: str, name: str, container_name: str, query: dict[str, Any]) -> None:
        pod = self.server.informer.get(f"{namespace}/{name}")
        if pod is None:
            self._text(404, f'pod "{name}" not found')
            return
        if container_name not in [c.name for c in pod.spec.containers]:
            self._text(400, f"container {container_name} is not valid for pod {name}")
            return
        if simulated_seconds(pod) is not None:  # no container, and so an empty log
            self._text(200, "")
            return
        container = self.server.runtime.container(pod.metadata.uid)
        if container is None or container_name != pod.spec.containers[0].name:
            reason = "ContainerCreating"
            for status in (pod.status and pod.status.container_statuses) or []:
                if status.name == container_name and status.state and status.state.waiting:
                    reason = status.state.waiting.reason or reason
            self._text(
                400, f'container "{container_name}" in pod "{name}" is waiting to start: {reason}'
            )
            return
        options: dict[str, Any] = {
            "stdout": True,
            "stderr": True,
            "stream": True,
            "follow": _flag(query, "follow"),
            "timestamps": _flag(query, "timestamps"),
        }
        if "tailLines" in query:
            options["tail"] = max(0, int(query["tailLines"][0]))
        if "sinceTime" in query:
            since = datetime.datetime.fromisoformat(query["sinceTime"][0].replace("Z", "+00:00"))
            options["since"] = since.timestamp()
        elif "sinceSeconds" in query:
            options["since"] = datetime.datetime.now().timestamp() - int(query["sinceSeconds"][0])
        limit = int(query["limitBytes"][0]) if "limitBytes" in query else None
        stream = container.logs(**options)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Connection", "close")
        self.end_headers()
        sent = 0
        try:
            for chunk in stream:
                if options["timestamps"]:
                    chunk = _as_kubelet_timestamp(chunk)
                if limit is not None:
                    chunk = chunk[: limit - sent]
                self.wfile.write(chunk)
                self.wfile.flush()
                sent += len(chunk)
                if limit is not None and sent >= limit:
                    break
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the client (the API server) went away
        finally:
            with contextlib.suppress(Exception):
                stream.close()
        self.close_connection = True


class LogServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, port: int, cert: str, key: str, informer: PodInformer, runtime: Runtime
    ) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.informer = informer
        self.runtime = runtime
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.socket = context.wrap_socket(self.socket, server_side=True)

    def serve_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, daemon=True, name="logs")
        thread.start()
        return thread
