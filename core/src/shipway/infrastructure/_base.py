from __future__ import annotations

import inspect
import re
from abc import abstractmethod
from collections.abc import AsyncIterable, Mapping, Sequence
from typing import Any

from anyio import TASK_STATUS_IGNORED
from anyio.abc import TaskStatus
from pydantic import BaseModel, ConfigDict, Field, field_validator

from shipway.infrastructure._output import LineSplitter, StreamName, current_output_sink
from shipway.infrastructure._result import InfrastructureResult
from shipway.jobs import JOB_ENV_VAR, Job

__all__ = ["ENGINE_MODULE", "Infrastructure", "mask_secrets"]

ENGINE_MODULE = "shipway.engine"

_SECRET_NAME = re.compile(
    r"pass(word|wd)?|secret|token|api[_-]?key|credential|private[_-]?key|auth", re.I
)
MASK = "********"


def mask_secrets(env: Mapping[str, str | None]) -> dict[str, str | None]:
    """Hide the values of variables whose names look secret (``*_TOKEN``, ``PASSWORD``...)."""
    return {k: (MASK if v is not None and _SECRET_NAME.search(k) else v) for k, v in env.items()}


class Infrastructure(BaseModel):
    """Where a flow run executes. Plugins subclass this and add their own fields.

    A subclass sets ``type`` to the name it is selected by and implements
    :meth:`run`, :meth:`kill` and :meth:`preview`::

        class Sandbox(Infrastructure):
            type: Literal["sandbox"] = "sandbox"
            image: str = "default"

            async def run(self, job, task_status=TASK_STATUS_IGNORED):
                command = self.job_command()        # python -m shipway.engine
                env = self.job_environment(job)     # env + the job hand-over
                ...                                 # start it on the platform
                task_status.started(identifier)
                ...                                 # stream with self.write_output()
                return InfrastructureResult(identifier, exit_code)

    Unknown fields are an error, so a typo in a config file never passes silently.
    """

    model_config = ConfigDict(extra="forbid", validate_default=True)

    type: str = Field(description="The name this infrastructure is selected by.")
    name: str | None = Field(
        default=None,
        description="A name for runs started here, used where the platform names things "
        "(container and Job names); the process plugin has no use for it.",
    )
    env: dict[str, str | None] = Field(
        default_factory=dict,
        description="Environment variables for the flow run. Values become strings; "
        "null unsets a variable the run would otherwise inherit.",
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="Labels attached to the run where the platform has them."
    )
    command: list[str] | None = Field(
        default=None,
        description="The command that starts the flow run; default: python -m shipway.engine.",
    )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if inspect.isabstract(cls):
            return
        default = cls.model_fields["type"].default
        if not isinstance(default, str) or not default:
            raise TypeError(
                f"{cls.__module__}.{cls.__qualname__} must give 'type' a default, the name "
                f"it is selected by, e.g.  type: Literal['my-platform'] = 'my-platform'"
            )

    @field_validator("env", "labels", mode="before")
    @classmethod
    def _values_are_strings(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        return {str(k): _env_string(v) for k, v in value.items()}

    @field_validator("env")
    @classmethod
    def _env_can_be_passed_on(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        """Reject what no operating system accepts here, so the mistake is reported with
        its place in the file instead of failing deep inside the run's start."""
        for name, text in value.items():
            if not name or "=" in name or "\0" in name:
                raise ValueError(
                    f"{name!r} cannot be an environment variable name "
                    "(it must be non-empty, without '=' or NUL characters)"
                )
            if text is not None and "\0" in text:
                raise ValueError(f"the value of {name} contains a NUL character")
        return value

    # -- the contract --------------------------------------------------------------

    @abstractmethod
    async def run(
        self, job: Job, task_status: TaskStatus[str] = TASK_STATUS_IGNORED
    ) -> InfrastructureResult:
        """Start ``job``, call ``task_status.started(identifier)`` once it runs,
        stream its output if asked, and return when it has exited."""

    @abstractmethod
    async def kill(self, identifier: str, grace_seconds: int = 30) -> None:
        """Stop a run started earlier, from any process: gracefully, then by force.

        Raise :class:`InfrastructureNotFound` if it is already gone and
        :class:`InfrastructureNotAvailable` if it lives where this instance cannot reach.
        """

    @abstractmethod
    def preview(self, job: Job | None = None) -> str:
        """What would be run (a command line, a ``docker run``, a manifest), secrets masked."""

    # -- helpers for plugin authors -----------------------------------------------

    @classmethod
    def type_name(cls) -> str:
        """The name this class is selected by (the default of its ``type`` field)."""
        return str(cls.model_fields["type"].default)

    def job_command(self, python: str | Sequence[str] = "python") -> list[str]:
        """The command that starts the engine: ``command`` if set, else
        ``<python> -m shipway.engine``. ``python`` is the interpreter as the platform
        finds it: a name, a path, or a command line that ends in one
        (``["conda", "run", "-n", "etl", "python"]``)."""
        if self.command:
            return list(self.command)
        interpreter = [python] if isinstance(python, str) else list(python)
        return [*interpreter, "-m", ENGINE_MODULE]

    def job_environment(self, job: Job) -> dict[str, str | None]:
        """``env`` with the job hand-over laid over it; ``None`` values mean "unset this
        variable".

        The hand-over (the job in ``SHIPWAY_FLOW_RUN``, and ``PYTHONUNBUFFERED=1`` so
        output arrives as it is printed) always wins over an ``env`` entry of the same
        name: a run must run the job it was given. Values of a plugin's wider ``env``
        (a Kubernetes ``valueFrom`` source) pass through unchanged.
        """
        # The one place the precedence is decided: the hand-over comes last.
        return {**self.env, "PYTHONUNBUFFERED": "1", JOB_ENV_VAR: job.to_json()}

    def write_output(self, stream: StreamName, data: bytes) -> None:
        """Pass one line of the run's output to whoever is listening (terminal, log store)."""
        current_output_sink().write(stream, data)

    async def forward_output(self, stream: AsyncIterable[bytes] | None, name: StreamName) -> None:
        """Read a byte stream (a child's stdout, say) to its end and pass it on to
        :meth:`write_output` line by line, as the lines arrive."""
        if stream is None:
            return
        lines = LineSplitter()
        async for chunk in stream:
            for line in lines.feed(chunk):
                self.write_output(name, line)
        for line in lines.flush():
            self.write_output(name, line)

    @staticmethod
    def preview_job(job: Job | None) -> Job:
        """The job to show in a preview when none is given."""
        return job or Job(entrypoint="path/to/flow.py:flow", flow_run_id="<flow-run-id>")


def _env_string(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value  # lists, mappings: let validation reject them with a clear path
