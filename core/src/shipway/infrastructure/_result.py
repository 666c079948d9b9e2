from __future__ import annotations

import dataclasses
import signal

from shipway.exit_status import ExitStatus

__all__ = ["InfrastructureResult", "describe_exit_code"]

_ENGINE_CODES: dict[int, str] = {
    ExitStatus.COMPLETED: "completed",
    ExitStatus.FAILED: "the flow raised an exception (its traceback is {output})",
    ExitStatus.CANNOT_START: "the flow run could not start (the reason is {output})",
}


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def describe_exit_code(
    code: int, output_location: str = "above", *, stopped_on_request: bool = False
) -> str:
    """Explain an exit status, including signal deaths (``-9`` or ``137``).

    ``output_location`` says where the run's output (the flow's traceback) can be read:
    ``"above"`` in a terminal, ``"in the run's logs"`` for a run an agent ran.
    ``stopped_on_request``: the user asked for the run to stop (a cancel, Ctrl-C), so
    a SIGKILL is the forced stop they asked for, not a sign of running out of memory."""
    if code in _ENGINE_CODES:
        return _ENGINE_CODES[code].format(output=output_location)
    signum = -code if code < 0 else code - 128 if 128 < code < 160 else None
    if signum == signal.SIGKILL and stopped_on_request:
        return (
            f"killed by SIGKILL (exit {code}): stopped by force, as asked (a second "
            "Ctrl-C, or a cancel whose grace period was over)"
        )
    if signum == signal.SIGKILL:
        return f"killed by SIGKILL (exit {code}): stopped by force, often for running out of memory"
    if signum == signal.SIGTERM:
        return f"terminated by SIGTERM (exit {code}): stopped on request"
    if signum is not None:
        return f"killed by {_signal_name(signum)} (exit {code})"
    return f"exited with status {code}"


@dataclasses.dataclass(frozen=True)
class InfrastructureResult:
    """How a run ended on its infrastructure.

    ``status_code`` is the engine's exit status (negative for a signal, as
    ``subprocess`` reports it); ``reason`` is the infrastructure's own diagnosis
    when it has one ("OOMKilled", "image pull failed").
    """

    identifier: str
    status_code: int
    reason: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code == 0

    def __bool__(self) -> bool:
        return self.succeeded

    def describe(self, output_location: str = "above", *, stopped_on_request: bool = False) -> str:
        """The exit status in words (see :func:`describe_exit_code`), with ``reason``."""
        text = describe_exit_code(
            self.status_code, output_location, stopped_on_request=stopped_on_request
        )
        return f"{text}; {self.reason}" if self.reason else text
