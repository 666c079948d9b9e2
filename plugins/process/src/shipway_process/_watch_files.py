"""Files that let a later process follow a flow run it did not start.

An agent that restarts after a crash cannot ``wait()`` for the runs its predecessor
started: they are not its children. So every run's engine is told (through
``SHIPWAY_EXIT_STATUS_FILE``) to leave its exit status in a file, and the plugin notes
which file belongs to which process group in ``<host>-<pid>.json``. Both live under
``$SHIPWAY_HOME/runs/process/`` and are removed once someone has read the outcome.

A job too large for an environment variable is handed over in a private temporary file
(``SHIPWAY_FLOW_RUN_FILE``); the note names it too, so that whoever sees the run end
removes it, the agent that started the run or the one that re-attached.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from pathlib import Path

__all__ = ["RunFiles", "state_directory"]

HOME_VAR = "SHIPWAY_HOME"


def state_directory() -> Path:
    home = Path(os.environ.get(HOME_VAR) or "~/.shipway").expanduser()
    return home / "runs" / "process"


class RunFiles:
    """The exit status file of one run, the note that finds it from its identifier, and
    the run's job file if it has one (removed with the others once the run is over)."""

    def __init__(
        self, exit_status: Path, note: Path | None = None, job: Path | None = None
    ) -> None:
        self.exit_status = exit_status
        self.note = note
        self.job = job

    @classmethod
    def new(cls) -> RunFiles | None:
        """Files for a run about to start; ``None`` when the directory cannot be made
        (a read-only home): the run still works, it just cannot be re-attached to."""
        directory = state_directory()
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
        return cls(directory / f"{uuid.uuid4().hex}.exit.json")

    def record_started(self, identifier: str) -> None:
        """Remember, under the run's identifier, where its exit status will appear (and
        its job file, for whoever sees the run end)."""
        note = state_directory() / f"{_safe(identifier)}.json"
        temporary = note.with_suffix(".tmp")
        recorded = {
            "exit_status_file": str(self.exit_status),
            "job_file": str(self.job) if self.job else None,
        }
        try:
            temporary.write_text(json.dumps(recorded))
            os.replace(temporary, note)
        except OSError:
            return
        self.note = note

    @classmethod
    def find(cls, identifier: str) -> RunFiles | None:
        note = state_directory() / f"{_safe(identifier)}.json"
        try:
            data = json.loads(note.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("exit_status_file"), str):
            return None
        job = data.get("job_file")
        return cls(
            Path(data["exit_status_file"]), note, Path(job) if isinstance(job, str) else None
        )

    def exit_code(self) -> int | None:
        try:
            data = json.loads(self.exit_status.read_text())
        except (OSError, ValueError):
            return None
        code = data.get("exit_code") if isinstance(data, dict) else None
        return code if isinstance(code, int) else None

    def remove(self) -> None:
        for path in (self.exit_status, self.note, self.job):
            if path is not None:
                with contextlib.suppress(OSError):
                    path.unlink()


def _safe(identifier: str) -> str:
    return identifier.replace(os.sep, "_").replace(":", "-")
