"""The job: what one flow run executes, and how it is handed to the engine.

Every infrastructure starts the same command (``python -m shipway.engine``) and
passes the job in the ``SHIPWAY_FLOW_RUN`` environment variable as JSON, or, for a job
too large for one variable, in a file that ``SHIPWAY_FLOW_RUN_FILE`` names. This module
is deliberately free of heavy imports: the engine parses the job on every run.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from typing import Any

__all__ = ["EXIT_STATUS_FILE_VAR", "JOB_ENV_VAR", "JOB_FILE_ENV_VAR", "Job", "JobFormatError"]

JOB_ENV_VAR = "SHIPWAY_FLOW_RUN"
"""The environment variable that carries the job from the infrastructure to the engine."""
JOB_FILE_ENV_VAR = "SHIPWAY_FLOW_RUN_FILE"
"""The environment variable naming a file that holds the job instead (its JSON, UTF-8,
gzip-compressed or not), for a job too large for :data:`JOB_ENV_VAR`: an operating
system refuses to start a process with a variable over 128 KiB. :data:`JOB_ENV_VAR`
wins when both are set."""
_GZIP_MAGIC = b"\x1f\x8b"
EXIT_STATUS_FILE_VAR = "SHIPWAY_EXIT_STATUS_FILE"
"""Where the engine leaves its exit status, when set: for an infrastructure that may lose
sight of the run (an agent that died and restarted cannot ``wait()`` for a process it
did not start) and reads the status from that file instead."""


class JobFormatError(ValueError):
    """The hand-over could not be read: missing, not JSON, or missing fields."""


def _new_flow_run_id() -> str:
    import uuid  # not at the top: the engine reads a job, and uuid costs its start-up

    return str(uuid.uuid4())


@dataclasses.dataclass(frozen=True)
class Job:
    """What to run: a flow entrypoint, its parameters and where to resolve it.

    ``working_dir`` is the project directory: relative file entrypoints resolve
    against it and it goes first on ``sys.path``, so a flow can import its siblings.
    An infrastructure that runs elsewhere (a container) may replace it with
    :meth:`replace`. ``storage`` (a storage block: its fields with ``type``) and
    ``storage_ref`` say where the code comes from: the engine pulls that ref before it
    imports the flow, and ``working_dir`` becomes the pulled project. Unknown keys in the
    hand-over are ignored, so an older engine in an image keeps accepting jobs from a
    newer ``shipway``.
    """

    entrypoint: str
    parameters: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    flow_run_id: str = dataclasses.field(default_factory=_new_flow_run_id)
    flow_name: str = ""
    deployment_name: str | None = None
    working_dir: str | None = None
    storage: Mapping[str, Any] | None = None
    storage_ref: str | None = None

    def __post_init__(self) -> None:
        if not self.flow_name:
            object.__setattr__(self, "flow_name", self.entrypoint.rpartition(":")[2])
        object.__setattr__(self, "parameters", dict(self.parameters))
        for key, value in self.parameters.items():
            try:
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise JobFormatError(
                    f"parameter {key!r} cannot be handed to the flow run: {exc}. "
                    "Parameters must be JSON values (strings, numbers, booleans, null, "
                    "lists and mappings of those)."
                ) from None

    def replace(self, **changes: Any) -> Job:
        """A copy with some fields changed (for example ``working_dir`` in a container)."""
        return dataclasses.replace(self, **changes)

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        if self.storage is None:  # a job without storage reads as it did before storage
            del data["storage"], data["storage_ref"]
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str, *, source: str = JOB_ENV_VAR) -> Job:
        """The job in ``text``; errors name ``source``, where the text came from."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise JobFormatError(f"{source} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise JobFormatError(f"{source} must be a JSON object")
        known = {field.name for field in dataclasses.fields(cls)}
        if "entrypoint" not in data:
            raise JobFormatError(f"{source} has no 'entrypoint'")
        if not isinstance(data.get("parameters", {}), dict):
            raise JobFormatError(f"{source} 'parameters' must be a JSON object")
        # A hand-over written by hand or by a foreign tool: wrong types would otherwise
        # surface as a traceback from deep inside the engine.
        optional_keys = ("deployment_name", "working_dir", "storage_ref")
        for key in ("entrypoint", "flow_run_id", "flow_name", *optional_keys):
            value = data.get(key)
            optional = key in optional_keys or key not in data
            if not (isinstance(value, str) or (value is None and optional)):
                raise JobFormatError(f"{source} {key!r} must be a string, not {value!r}")
        if not isinstance(data.get("storage") or {}, dict):
            raise JobFormatError(f"{source} 'storage' must be a JSON object or null")
        if not data["entrypoint"]:
            raise JobFormatError(f"{source} 'entrypoint' is empty")
        return cls(**{key: value for key, value in data.items() if key in known})

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Job:
        """The job the engine was handed: in :data:`JOB_ENV_VAR`, else in the file
        :data:`JOB_FILE_ENV_VAR` names."""
        environ = os.environ if environ is None else environ
        text = environ.get(JOB_ENV_VAR)
        if text:
            return cls.from_json(text)
        path = environ.get(JOB_FILE_ENV_VAR)
        if path:
            return cls.from_json(_read_job_file(path), source=f"the job file {path}")
        raise JobFormatError(
            f"{JOB_ENV_VAR} is not set (nor {JOB_FILE_ENV_VAR}). The engine is started by "
            "an infrastructure plugin, which passes the job there; run flows with "
            "`shipway run`."
        )


def _read_job_file(path: str) -> str:
    try:
        with open(path, "rb") as file:
            content = file.read()
    except OSError as exc:
        raise JobFormatError(
            f"{JOB_FILE_ENV_VAR} names {path}, which cannot be read: {exc.strerror or exc}"
        ) from None
    if content.startswith(_GZIP_MAGIC):
        import gzip  # only compressed hand-overs pay for it

        try:
            content = gzip.decompress(content)
        except (OSError, EOFError) as exc:
            raise JobFormatError(
                f"{JOB_FILE_ENV_VAR} names {path}, which is not valid gzip: {exc}"
            ) from None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JobFormatError(
            f"{JOB_FILE_ENV_VAR} names {path}, which is not UTF-8: {exc}"
        ) from None
