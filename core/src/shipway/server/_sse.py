"""A flow run's output, live, as server-sent events.

Each stored line is one ``log`` event whose ``id`` is its sequence number, so that a
browser's EventSource that reconnects (``Last-Event-ID``) goes on where it stopped; an
``end`` event carries the final state once the run has ended and every line was sent.

The store has no notifications: the stream asks it for new lines every ``POLL_SECONDS``
(one indexed query; the agent itself writes lines every quarter second) and for the
run's state only when no line came, at most once a second. So an idle stream costs a
few cheap queries a second, never a busy loop. It ends when the run has ended, when the
client goes away (Starlette cancels it) or when the server stops.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import anyio
from starlette.requests import Request
from starlette.responses import StreamingResponse

from shipway.server import operations as ops
from shipway.server._context import ServerContext, server_context
from shipway.store import StoredLogLine

__all__ = ["POLL_SECONDS", "log_stream"]

POLL_SECONDS = 0.1
STATE_EVERY_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0


async def log_stream(
    request: Request, run_id: str, *, after: int, min_level: int | None = None
) -> StreamingResponse:
    """The stream of run ``run_id``'s lines after ``after`` (404 before it starts when
    there is no such run); ``min_level`` keeps only run logger records at or above it."""
    context = server_context(request)
    run = await context.call(context.store.get_flow_run, run_id)
    return StreamingResponse(
        _events(context, run.id, after, min_level),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(
    context: ServerContext, run_id: str, after: int, min_level: int | None
) -> AsyncIterator[str]:
    yield "retry: 1000\n\n"
    last_state_check = 0.0
    last_sent = time.monotonic()
    while not context.stopping.is_set():
        lines = await context.call(
            context.store.read_logs, run_id, after=after, limit=500, min_level=min_level
        )
        for line in lines:
            after = line.seq
            yield _log_event(line)
        now = time.monotonic()
        if lines:
            last_sent = now
            continue  # more may be waiting
        if now - last_state_check >= STATE_EVERY_SECONDS:
            last_state_check = now
            run = await context.call(context.store.get_flow_run, run_id)
            if run.state.is_final:
                # Lines written just before the final state: read once more, then end.
                for line in await context.call(
                    context.store.read_logs, run_id, after=after, min_level=min_level
                ):
                    after = line.seq
                    yield _log_event(line)
                yield f"event: end\ndata: {json.dumps({'state': run.state.value})}\n\n"
                return
        if now - last_sent >= KEEPALIVE_SECONDS:
            last_sent = now
            yield ": keep-alive\n\n"  # proxies close connections that stay silent
        await anyio.sleep(POLL_SECONDS)


def _log_event(line: StoredLogLine) -> str:
    return f"id: {line.seq}\nevent: log\ndata: {json.dumps(ops.log_view(line))}\n\n"
