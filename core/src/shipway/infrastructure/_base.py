from __future__ import annotations

import contextlib
import copy
import os
import tempfile
import warnings
from abc import abstractmethod
from collections.abc import AsyncIterable, Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, cast

from anyio import TASK_STATUS_IGNORED
from anyio.abc import TaskStatus
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shipway._selected_by_name import check_type_default
from shipway.infrastructure._errors import InfrastructureError
from shipway.infrastructure._output import LineSplitter, StreamName, current_output_sink
from shipway.infrastructure._result import InfrastructureResult
from shipway.jobs import JOB_ENV_VAR, JOB_FILE_ENV_VAR, Job
from shipway.secrets import SecretRef, mask_env

__all__ = ["ENGINE_MODULE", "JOB_ENV_MAX_BYTES", "EnvValue", "Infrastructure", "mask_secrets"]

ENGINE_MODULE = "shipway.engine"
JOB_ENV_MAX_BYTES = 64 * 1024
"""The largest job handed over in ``SHIPWAY_FLOW_RUN``; a larger one goes in a file
(``SHIPWAY_FLOW_RUN_FILE``). Operating systems refuse a variable over 128 KiB (Linux:
"Argument list too long"), and the whole environment is limited too."""

EnvValue = str | SecretRef | None
"""An ``env`` value: a string, a secret reference, or None (unset the variable)."""


def mask_secrets(env: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``env`` with the values of secret-named variables (``API_TOKEN``,
    ``ENCRYPTION_KEY``...) masked, as everything shipway shows is (see ``shipway.secrets``)."""
    return mask_env(env)


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
                ...                                 # stream: self.forward_output()
                return InfrastructureResult(identifier, exit_code)

    Unknown fields are an error, so a typo in a config file never passes silently.
    """

    model_config = ConfigDict(extra="forbid", validate_default=True, defer_build=True)

    type: str = Field(description="The name this infrastructure is selected by.")
    name: str | None = Field(
        default=None,
        description="A name for runs started here, where the platform names what it runs.",
    )
    env: dict[str, EnvValue] = Field(
        default_factory=dict,
        description="Environment variables for the flow run. Values become strings; "
        "{secret: NAME} reads a secret when the run starts (never stored); "
        "null unsets a variable the run would otherwise inherit.",
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="Labels attached to the run where the platform has them."
    )
    command: list[str] | None = Field(
        default=None,
        description="The command that starts the flow run; default: python -m shipway.engine.",
    )

    field_descriptions: ClassVar[Mapping[str, str]] = {}
    """Descriptions of inherited fields (``name``, ``env``, ``labels``, ``command``) as
    they apply on this platform, replacing the generic ones in ``shipway infra schema``
    and the configuration reference::

        field_descriptions = {"name": "The container's name; default: <flow>-<run id>."}
    """

    resolves_secret_references: ClassVar[bool] = False
    """True when the platform reads ``{secret: NAME}`` env values itself (Kubernetes maps
    them to ``secretKeyRef``): they reach :meth:`run` as :class:`SecretRef` values. False
    (the default): the agent or ``shipway run`` replaces them with the secrets' values
    before :meth:`run`, so ``env`` holds strings only."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        _describe_inherited_fields(cls)
        check_type_default(cls, "my-platform")

    @field_validator("labels", mode="before")
    @classmethod
    def _values_are_strings(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        return {str(k): _env_string(v) for k, v in value.items()}

    @field_validator("env", mode="before")
    @classmethod
    def _env_values(cls, value: Any) -> Any:
        """Strings, with ``{secret: NAME}`` made a :class:`SecretRef` (any other mapping
        is left for the field's type to accept or reject)."""
        if not isinstance(value, Mapping):
            return value
        # A plugin may widen env (Kubernetes: valueFrom sources); the base takes no other mapping.
        other_mappings = cls.model_fields["env"].annotation != dict[str, EnvValue]
        return {str(k): _env_value(str(k), v, other_mappings) for k, v in value.items()}

    @field_validator("env")
    @classmethod
    def _env_can_be_passed_on(cls, value: dict[str, Any]) -> dict[str, Any]:
        """Reject what no operating system accepts here, so the mistake is reported with
        its place in the file instead of failing deep inside the run's start."""
        for name, text in value.items():
            if not name or "=" in name or "\0" in name:
                raise ValueError(
                    f"{name!r} cannot be an environment variable name "
                    "(it must be non-empty, without '=' or NUL characters)"
                )
            if isinstance(text, str) and "\0" in text:
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

    def job_environment(self, job: Job, job_file: str | None = None) -> dict[str, str | None]:
        """``env`` with the job hand-over laid over it; ``None`` values mean "unset this
        variable".

        The hand-over (the job in ``SHIPWAY_FLOW_RUN``, and ``PYTHONUNBUFFERED=1`` so
        output arrives as it is printed) always wins over an ``env`` entry of the same
        name: a run must run the job it was given. Values of a plugin's wider ``env``
        (a Kubernetes ``valueFrom`` source) pass through unchanged.

        Secret references have been replaced by their values before :meth:`run` (see
        :attr:`resolves_secret_references`); one still here is refused rather than
        passed on as text.

        ``job_file`` is for a job too large for a variable (see :meth:`job_file_content`):
        the path, as the engine sees it, where the plugin puts that content. The job is
        then named by ``SHIPWAY_FLOW_RUN_FILE`` instead, and ``SHIPWAY_FLOW_RUN`` unset.
        """
        if not self.resolves_secret_references:
            for name, value in self.env.items():
                if isinstance(value, SecretRef):
                    raise InfrastructureError(
                        f"env {name} is the secret reference {value}, not its value: "
                        "secret references are resolved when a run starts (by an agent "
                        "or `shipway run`), not by the infrastructure itself"
                    )
        # Only a platform that resolves references itself gets them here (its env type
        # says so); for every other one the check above made the values strings.
        env = cast("dict[str, str | None]", self.env)
        # The one place the precedence is decided: the hand-over comes last.
        handover: dict[str, str | None] = (
            {JOB_ENV_VAR: None, JOB_FILE_ENV_VAR: job_file}
            if job_file
            else {JOB_ENV_VAR: job.to_json()}
        )
        return {**env, "PYTHONUNBUFFERED": "1", **handover}

    @staticmethod
    def job_file_content(job: Job) -> bytes | None:
        """The job as the content of a hand-over file (UTF-8 JSON), when it is too large
        for an environment variable (over :data:`JOB_ENV_MAX_BYTES`); ``None`` when it
        fits in one. Put it where the engine can read it, and pass that path to
        :meth:`job_environment`::

            content = self.job_file_content(job)
            path = None if content is None else put_on_the_platform(content)
            environment = self.job_environment(job, job_file=path)
        """
        text = job.to_json().encode("utf-8")
        return text if len(text) > JOB_ENV_MAX_BYTES else None

    @contextlib.contextmanager
    def local_job_environment(self, job: Job) -> Iterator[dict[str, str | None]]:
        """:meth:`job_environment` for an engine that runs on this machine, with a job
        too large for a variable put in a private temporary file (0600: parameters may
        be secret), which the environment names and which is removed when the block
        exits. Keep the block open until the run has ended::

            with self.local_job_environment(job) as environment:
                ...  # start the engine with it, and follow the run to its end
        """
        content = self.job_file_content(job)
        if content is None:
            yield self.job_environment(job)
            return
        descriptor, path = tempfile.mkstemp(prefix="shipway-job-", suffix=".json")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(content)
            yield self.job_environment(job, job_file=path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def write_output(self, stream: StreamName, data: bytes) -> None:
        """Pass one line of the run's output, on ``stream`` (``"stdout"`` or
        ``"stderr"``), to whoever is listening (terminal, log store)."""
        current_output_sink().write(stream, data)

    async def forward_output(
        self,
        source: AsyncIterable[bytes] | None = None,
        stream: StreamName | AsyncIterable[bytes] | None = None,
        *,
        is_control: Callable[[bytes], bool] | None = None,
        name: StreamName | None = None,
    ) -> None:
        """Read ``source`` (a child's stdout, say; ``None``: nothing) to its end and pass
        it on to :meth:`write_output` on ``stream``, line by line, as lines arrive.

        ``is_control`` sees every line first; a line it returns True for is the
        plugin's own (an exit-status marker a remote wrapper prints, say) and is not
        passed on. It may keep what it needs from the line.

        ``stream`` names the stream as in :meth:`write_output`. Before 0.2 the byte
        source was the keyword ``stream=`` and the stream name ``name=``; that spelling
        still works, with a DeprecationWarning.
        """
        if name is not None:  # the old keywords: forward_output(stream=source, name=...)
            warnings.warn(
                "forward_output(stream=..., name=...) is deprecated: use "
                "forward_output(source, stream), where stream is 'stdout' or 'stderr'",
                DeprecationWarning,
                stacklevel=2,
            )
            source, stream = cast("AsyncIterable[bytes] | None", stream), name
        if stream not in ("stdout", "stderr"):
            raise TypeError(f"forward_output: stream must be 'stdout' or 'stderr', not {stream!r}")
        if source is None:
            return
        lines = LineSplitter()
        async for chunk in source:
            for line in lines.feed(chunk):
                if is_control is None or not is_control(line):
                    self.write_output(stream, line)
        for line in lines.flush():
            if is_control is None or not is_control(line):
                self.write_output(stream, line)

    @staticmethod
    def preview_job(job: Job | None) -> Job:
        """The job to show in a preview when none is given."""
        return job or Job(entrypoint="path/to/flow.py:flow", flow_run_id="<flow-run-id>")


def _describe_inherited_fields(cls: type[Infrastructure]) -> None:
    """Apply ``cls.field_descriptions`` (its own, not a parent's) to the inherited fields."""
    descriptions = cls.__dict__.get("field_descriptions")
    if not descriptions:
        return
    unknown = sorted(set(descriptions) - set(cls.model_fields))
    if unknown:
        raise TypeError(
            f"{cls.__module__}.{cls.__qualname__}.field_descriptions names fields it does "
            f"not have: {', '.join(unknown)}"
        )
    for field_name, description in descriptions.items():
        described = copy.copy(cls.model_fields[field_name])
        described.description = description
        cls.model_fields[field_name] = described
    cls.model_rebuild(force=True)


def _env_value(name: str, value: Any, other_mappings: bool) -> Any:
    if not isinstance(value, Mapping):
        return _env_string(value)
    if set(value) == {"secret"}:
        try:
            return SecretRef.model_validate(value)
        except ValidationError:
            raise ValueError(
                f"env {name}: {value['secret']!r} is not a secret name: use letters, digits, "
                "'.', '-' and '_', and one '/' for a key (name/key)"
            ) from None
    if not other_mappings:
        raise ValueError(
            f"env {name}: a value is a string, a number, true/false, null (unset it) "
            "or a secret reference {secret: NAME}"
        )
    return value


def _env_string(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value  # lists, mappings: let validation reject them with a clear path
