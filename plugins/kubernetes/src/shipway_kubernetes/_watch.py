"""Watches that survive the API server closing them.

A watch lasts at most :data:`WATCH_SECONDS` (the server ends it then, and a stalled one is
given up on when nothing at all arrives for longer); it is then opened again from the
last ``resourceVersion`` seen, so no change is missed. When the server no longer has
that version (410 Gone) the objects are listed afresh. Connection failures and 5xx
answers are retried with backoff for :data:`RETRY_SECONDS` in a row before the watch
gives up: a run of several hours outlives an API server restart.

Runs in a thread of its own (the client blocks); ``stop`` ends it between events. Objects
are kept as the API spells them (JSON), never turned into the client's models: an agent
following a thousand Jobs would spend its time deserializing them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

from shipway_kubernetes._backoff import Backoff
from shipway_kubernetes._cluster import describe_api_error, is_retryable
from shipway_kubernetes._interrupt import interrupt

__all__ = ["RETRY_SECONDS", "WATCH_SECONDS", "ResumableWatch"]

WATCH_SECONDS = 50
"""How long one watch request asks the server to keep it open."""
STALL_SECONDS = 15
"""How much longer than that we wait for bytes before calling the watch stalled."""
RETRY_SECONDS = 300.0
"""How long API failures may go on, in a row, before the run is given up."""


class ResumableWatch:
    """``(event type, object as the API spells it)`` for the objects ``list_call`` lists,
    starting with one ``LISTED`` event per object that already exists, then ``SYNCED``
    (with an empty object): after a re-list, an object not listed again is gone."""

    def __init__(
        self,
        list_call: Callable[..., Any],
        server: str,
        what: str,
        stop: threading.Event,
        **selectors: Any,
    ) -> None:
        self._list = list_call
        self._server = server
        self._what = what
        self._stop = stop
        self._selectors = selectors
        self.resource_version: str | None = None
        self._watcher: Any = None
        self.relists = 0
        self.resumes = 0

    def events(self) -> Iterator[tuple[str, dict[str, Any]]]:
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException

        backoff = Backoff(RETRY_SECONDS, self._stop)
        while not self._stop.is_set():
            try:
                if self.resource_version is None:
                    yield from self._list_all()
                    backoff.reset()
                watcher = watch.Watch()  # type: ignore[no-untyped-call]  # kubernetes.watch is untyped
                self._watcher = watcher
                stream = watcher.stream(  # type: ignore[no-untyped-call]
                    self._unparsed,
                    resource_version=self.resource_version,
                    timeout_seconds=WATCH_SECONDS,
                    allow_watch_bookmarks=True,
                    _request_timeout=(10, WATCH_SECONDS + STALL_SECONDS),
                    **self._selectors,
                )
                try:
                    for event in stream:
                        if self._stop.is_set():
                            return
                        backoff.reset()
                        yielded = self._event(event)
                        if yielded is not None:
                            yield yielded
                finally:
                    watcher.stop()  # type: ignore[no-untyped-call]
                self.resumes += 1
            except ApiException as exc:
                if self._stop.is_set():  # closed under our feet: that is the stop
                    return
                if exc.status == 410:  # our resourceVersion is too old: list again
                    self.resource_version = None
                    self.relists += 1
                    continue
                if not is_retryable(exc) or not backoff.wait():
                    raise describe_api_error(exc, self._server, f"watching {self._what}") from None
                self.resumes += 1
            except Exception as exc:
                if self._stop.is_set():
                    return
                if not is_retryable(exc) or not backoff.wait():
                    raise describe_api_error(exc, self._server, f"watching {self._what}") from None
                self.resumes += 1

    def close(self) -> None:
        """Stop, and end the open watch request so that its thread ends now rather than
        when the server next sends something. Called from the event loop: never blocks
        (see ``_interrupt``)."""
        self._stop.set()
        response = getattr(self._watcher, "_resp", None)  # the client keeps no public handle
        if response is not None:
            interrupt(response)

    def _unparsed(self, **kwargs: Any) -> Any:
        """The list call, without the docstring from which the client would learn the
        model to deserialize every event into (``raw_object`` is all we read)."""
        return self._list(**kwargs)

    def _list_all(self) -> Iterator[tuple[str, dict[str, Any]]]:
        response = self._list(_request_timeout=(10, 60), _preload_content=False, **self._selectors)
        try:
            listing = json.loads(response.data)
        finally:
            response.release_conn()
        self.resource_version = str(listing["metadata"]["resourceVersion"])
        for item in listing.get("items") or []:
            yield "LISTED", item
        yield "SYNCED", {}

    def _event(self, event: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        from kubernetes.client.exceptions import ApiException

        kind = event["type"]
        raw = event.get("raw_object") or {}
        if kind == "ERROR":
            code = raw.get("code")
            if code == 410:
                raise ApiException(status=410, reason="Gone")
            raise ApiException(status=code or 500, reason=str(raw.get("message", "")))
        version = (raw.get("metadata") or {}).get("resourceVersion")
        if version:
            self.resource_version = str(version)
        if kind == "BOOKMARK":
            return None
        return kind, raw
