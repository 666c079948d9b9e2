"""How a run logger's records travel from the engine to whoever shows or keeps the output.

The engine runs wherever the infrastructure puts it (a process, a container, a pod) and
all that reaches shipway is its stdout and stderr, line by line. A record of the run
logger (:func:`shipway.get_run_logger`) is written to stderr as one *log line*: a mark no
program prints by accident (ASCII record separator, then ``shipway-log``) followed by
JSON holding the level, the time and the message::

    \\x1eshipway-log {"level": 30, "time": 1767225600.5, "source": "etl", "message": "..."}

Whoever receives the output recognises the mark with :func:`decode_log_line`: the
terminal of ``shipway run`` shows :func:`render_log_line`'s text, an agent stores the
message with its level and time. Every other line (``print`` output, tracebacks) has no
mark and keeps its stream, exactly as before. Pure stdlib: the engine imports it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone

__all__ = [
    "LOG_LINE_MARK",
    "LoggedRecord",
    "decode_log_line",
    "encode_log_line",
    "level_name",
    "level_number",
    "render_log_line",
]

LOG_LINE_MARK = "\x1eshipway-log "
_MARK_BYTES = LOG_LINE_MARK.encode()

# The output streams cut lines at 64 KiB (LineSplitter): a longer log line would arrive
# in pieces and show as raw text, so a huge message is shortened instead.
MAX_MESSAGE_CHARACTERS = 32_000


@dataclass(frozen=True)
class LoggedRecord:
    """One run logger record as received: ``level`` is logging's number (30: WARNING)."""

    level: int
    time: datetime
    message: str
    source: str = ""


def encode_log_line(level: int, created: float, message: str, source: str = "") -> str:
    """The line (with its newline) that carries one record on stderr."""
    if len(message) > MAX_MESSAGE_CHARACTERS:
        message = message[:MAX_MESSAGE_CHARACTERS] + " ... (shortened by shipway)"
    payload = {"level": level, "time": created, "source": source, "message": message}
    return LOG_LINE_MARK + json.dumps(payload, ensure_ascii=False) + "\n"


def decode_log_line(data: bytes | str) -> LoggedRecord | None:
    """The record a line carries, or None for any other line (shown as it is)."""
    raw = data if isinstance(data, bytes) else data.encode("utf-8", errors="replace")
    if not raw.startswith(_MARK_BYTES):
        return None
    try:
        payload = json.loads(raw[len(_MARK_BYTES) :].decode("utf-8", errors="replace"))
        level = int(payload["level"])
        time = datetime.fromtimestamp(float(payload["time"]), tz=timezone.utc)
        message = str(payload["message"])
        source = str(payload.get("source") or "")
    except (ValueError, KeyError, TypeError, OverflowError, OSError):
        return None  # a damaged line: better shown raw than lost
    return LoggedRecord(level, time, message, source)


def render_log_line(level: int, time: datetime, message: str, source: str = "") -> str:
    """How a record reads on a terminal: ``12:00:01.123 | WARNING | etl | disk at 91%``
    (local time; no newline at the end)."""
    clock = time.astimezone().strftime("%H:%M:%S.%f")[:-3]
    where = f" | {source}" if source else ""
    return f"{clock} | {level_name(level):<7}{where} | {message}"


def level_name(level: int) -> str:
    """``30`` -> ``WARNING``; a level without a name reads ``Level 25``, as in logging."""
    return logging.getLevelName(level)


def level_number(name: str) -> int:
    """``warning`` (any case) or ``30`` -> 30; ValueError names the choices."""
    text = name.strip().upper()
    if text.isdigit():
        return int(text)
    number = _LEVELS.get(text)
    if number is None:
        raise ValueError(
            f"{name!r} is not a log level; use debug, info, warning, error or critical"
        )
    return number


_LEVELS = {"CRITICAL": 50, "ERROR": 40, "WARNING": 30, "WARN": 30, "INFO": 20, "DEBUG": 10}
