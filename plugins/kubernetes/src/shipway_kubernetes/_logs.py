"""Follow a pod's log while it runs, and pick it up again when the stream breaks.

The log is read with ``timestamps=true``: each line starts with the kubelet's RFC 3339
timestamp (nanoseconds). When the connection breaks before the container has ended,
the log is requested again with ``sinceTime`` (whole seconds: the API's precision) and
the lines already delivered are dropped: lines older than the last one seen, and, at
the last one's timestamp, as many lines with the same text as were seen there. So a
line is duplicated only if the kubelet gives two lines the very same timestamp *and*
the stream broke between them with different text (in practice: never); a line is lost
only if the pod's log is gone (the pod deleted) before it could be read again.

Kubernetes merges stdout and stderr into one log, so everything arrives as stdout.
"""

from __future__ import annotations

import collections
import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from shipway.infrastructure import LineSplitter, StreamName
from shipway_kubernetes._backoff import Backoff
from shipway_kubernetes._cluster import Cluster, is_retryable
from shipway_kubernetes._interrupt import interrupt
from shipway_kubernetes._watch import RETRY_SECONDS

__all__ = ["LogCursor", "PodLog"]

Deliver = Callable[[list[tuple[StreamName, bytes]]], None]


class LogCursor:
    """Where the log has been read up to, and which lines to drop on a resumed read."""

    def __init__(self) -> None:
        self.last_timestamp: str | None = None
        self._seen_at_last: collections.Counter[bytes] = collections.Counter()
        self._skip: collections.Counter[bytes] = collections.Counter()

    def since_time(self) -> str | None:
        """``sinceTime`` for the next request: the last timestamp cut to whole seconds."""
        if self.last_timestamp is None:
            return None
        return self.last_timestamp[:19] + "Z"

    def resume(self) -> None:
        """A new read starts: drop again what was already delivered."""
        self._skip = collections.Counter(self._seen_at_last)

    def accept(self, raw: bytes) -> bytes | None:
        """The line without its timestamp, or None when it was delivered before."""
        stamp, _, text = raw.partition(b" ")
        timestamp = stamp.decode("ascii", "replace")
        if not _looks_like_timestamp(timestamp):  # a kubelet that does not stamp lines
            return raw
        if self.last_timestamp is not None:
            if timestamp < self.last_timestamp:
                return None
            if timestamp == self.last_timestamp and self._skip[text] > 0:
                self._skip[text] -= 1
                return None
        if timestamp != self.last_timestamp:
            self.last_timestamp = timestamp
            self._seen_at_last.clear()
            self._skip.clear()
        self._seen_at_last[text] += 1
        return text


def _looks_like_timestamp(text: str) -> bool:
    return len(text) >= 20 and text[4] == "-" and text[10] == "T" and text.endswith("Z")


class PodLog:
    """Read one container's log to its end in a worker thread; ``deliver`` gets each
    batch of lines (call it through the event loop). ``finished`` tells whether the
    container has ended, so that a stream that ends early is resumed."""

    def __init__(
        self,
        cluster: Cluster,
        namespace: str,
        pod: str,
        container: str,
        deliver: Deliver,
        finished: Callable[[], bool],
        stop: threading.Event,
    ) -> None:
        self._cluster = cluster
        self._namespace = namespace
        self._pod = pod
        self._container = container
        self._deliver = deliver
        self._finished = finished
        self._stop = stop
        self.cursor = LogCursor()
        self.resumes = 0
        self._response: Any = None

    def follow(self) -> None:
        """Blocks until the container has ended and its whole log has been read."""
        backoff = Backoff(RETRY_SECONDS, self._stop)
        while not self._stop.is_set():
            try:
                self.cursor.resume()
                for batch in self._read_once():
                    backoff.reset()
                    self._deliver(batch)
                if self._finished():
                    return
                # the server ended a stream before the container did: read on
            except Exception as exc:
                if isinstance(exc, _LogGone) or self._stop.is_set():
                    return
                if not is_retryable(exc) or not backoff.wait():
                    raise
            self.resumes += 1
            if self._stop.wait(0.2):
                return

    def _read_once(self) -> Iterator[list[tuple[StreamName, bytes]]]:
        from kubernetes.client.exceptions import ApiException

        query: list[tuple[str, Any]] = [
            ("container", self._container),
            ("follow", "true"),
            ("timestamps", "true"),
        ]
        since = self.cursor.since_time()
        if since:
            query.append(("sinceTime", since))
        api = self._cluster.api
        request = api.param_serialize(
            method="GET",
            resource_path="/api/v1/namespaces/{namespace}/pods/{name}/log",
            path_params={"namespace": self._namespace, "name": self._pod},
            query_params=query,
            header_params={"Accept": "*/*"},
            auth_settings=["BearerToken"],
        )
        answer = api.call_api(*request, _request_timeout=(10, None))
        if not 200 <= answer.status <= 299:
            answer.read()  # type: ignore[no-untyped-call]  # RESTResponse.read is untyped
            if answer.status in (400, 404):  # the pod or its container is gone
                raise _LogGone()
            raise ApiException.from_response(http_resp=answer, body=None, data=None)
        response = answer.response
        self._response = response
        splitter = LineSplitter()
        try:
            for chunk in response.stream(16 * 1024, decode_content=True):
                lines = [self.cursor.accept(raw) for raw in splitter.feed(chunk)]
                batch: list[tuple[StreamName, bytes]] = [
                    ("stdout", line) for line in lines if line is not None
                ]
                if batch:
                    yield batch
                if self._stop.is_set():
                    return
            rest = [self.cursor.accept(raw) for raw in splitter.flush()]
            tail: list[tuple[StreamName, bytes]] = [("stdout", r) for r in rest if r is not None]
            if tail:
                yield tail
        finally:
            self._response = None
            with contextlib.suppress(Exception):
                response.release_conn()

    def close(self) -> None:
        """Stop, and end the open log request now (from the event loop: never blocks)."""
        self._stop.set()
        response = self._response
        if response is not None:
            interrupt(response)


class _LogGone(Exception):
    """The log cannot be read any more (the pod was deleted)."""
