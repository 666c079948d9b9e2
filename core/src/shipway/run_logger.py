"""``get_run_logger()``: the logger a flow or a task writes its run's log with.

Inside the engine each record goes to stderr as a log line (see :mod:`shipway.log_lines`),
so ``shipway run`` shows it with its time and level and an agent stores it with its
level. Anywhere else (a flow called from a script or a test) records are written to
stderr as text, in the same shape ``shipway run`` shows them: the logger always works.

``log_prints=True`` (on a flow or a task) sends ``print`` calls without ``file=`` to
this logger at INFO.
"""

from __future__ import annotations

import builtins
import contextlib
import contextvars
import logging
import os
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from shipway._run_context import current_run, current_task_name, log_lines_wanted, use_log_lines
from shipway.environment import LOG_LEVEL_VAR
from shipway.log_lines import encode_log_line, level_number, render_log_line

__all__ = [
    "RUN_LOGGER_NAME",
    "get_run_logger",
    "prints_logged",
    "use_log_lines",
]

RUN_LOGGER_NAME = "shipway.flow_run"


class _RunLogHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is when the record is emitted (the engine
    replaces it with a stream that outlives a vanished reader)."""

    def __init__(self, *, log_lines: bool) -> None:
        super().__init__()
        self.log_lines = log_lines
        self.setFormatter(logging.Formatter("%(message)s"))  # + the traceback, if any

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            source = _source()
            if self.log_lines:
                text = encode_log_line(record.levelno, record.created, message, source)
            else:
                time = datetime.fromtimestamp(record.created, tz=timezone.utc)
                text = render_log_line(record.levelno, time, message, source) + "\n"
            sys.stderr.write(text)
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def _source() -> str:
    task = current_task_name()
    if task is not None:
        return task
    run = current_run()
    return run.flow_name if run is not None else ""


def _level() -> int:
    try:
        return level_number(os.environ.get(LOG_LEVEL_VAR) or "info")
    except ValueError:
        return logging.INFO


_configuring = threading.Lock()


def get_run_logger() -> logging.Logger:
    """The run's logger: ``get_run_logger().warning("disk at %d%%", 91)``."""
    logger = logging.getLogger(RUN_LOGGER_NAME)
    wanted = log_lines_wanted()
    with _configuring:  # tasks on several threads may ask first at the same time
        handlers = [h for h in logger.handlers if isinstance(h, _RunLogHandler)]
        if len(handlers) == 1 and handlers[0].log_lines == wanted:
            return logger
        # First use, or the engine switched to log lines after the flow's module logged
        # while being imported.
        for handler in handlers:
            logger.removeHandler(handler)
        logger.addHandler(_RunLogHandler(log_lines=wanted))
        logger.setLevel(_level())
        logger.propagate = False  # the root logger's handlers would print each record twice
    return logger


_printing_to_log: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "shipway_log_prints", default=False
)
_builtin_print = builtins.print


def _print(*values: Any, sep: str | None = " ", end: str | None = "\n", file: Any = None,
           flush: bool = False) -> None:  # fmt: skip
    if _printing_to_log.get() and (file is None or file is sys.stdout):
        get_run_logger().info((" " if sep is None else sep).join(str(v) for v in values))
        return
    _builtin_print(*values, sep=sep, end=end, file=file, flush=flush)


@contextlib.contextmanager
def prints_logged(enabled: bool = True) -> Iterator[None]:
    """Inside the block (and tasks it submits), ``print(...)`` goes to the run logger."""
    if builtins.print is not _print:
        builtins.print = _print
    token = _printing_to_log.set(enabled)
    try:
        yield
    finally:
        _printing_to_log.reset(token)
