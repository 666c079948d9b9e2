"""The ``docker-container`` infrastructure: its fields, and run, kill and preview on top of
the engine helpers (``_engine``, ``_pull``, ``_lifecycle``, ``_logs``, ``_spec``)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import anyio
import anyio.to_thread
from anyio.abc import TaskStatus
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from shipway.infrastructure import (
    ImageBuildRequest,
    Infrastructure,
    InfrastructureError,
    InfrastructureNotAvailable,
    InfrastructureResult,
    Job,
    run_labels,
)
from shipway_docker._engine import Engine, connect, engine_errors
from shipway_docker._fields import (
    PullPolicy,
    default_image,
    infer_pull_policy,
    memory_bytes,
    normalise_pull_policy,
    run_container_name,
    split_volume,
)
from shipway_docker._identifier import format_identifier, parse_identifier
from shipway_docker._lifecycle import (
    container_state,
    create_container,
    remove_or_warn,
    start_container,
    stop_container,
)
from shipway_docker._logs import ContainerOutput, attach
from shipway_docker._preview import docker_run_command
from shipway_docker._pull import ensure_image
from shipway_docker._spec import (
    HOST_GATEWAY,
    JOB_FILE_PATH,
    LABEL_PREFIX,
    ContainerSpec,
    resolve_volumes,
    without_unset,
)

__all__ = ["DockerContainer", "ImageRegistry"]

# When a run is cancelled in-process (not through kill), its container gets this long.
_CANCEL_GRACE_SECONDS = 10


class ImageRegistry(BaseModel):
    """Credentials for pulling the image from a private registry."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(description="The registry user.")
    password: SecretStr = Field(description="The password or access token; never shown.")
    registry_url: str | None = Field(
        default=None,
        description="The registry's address, e.g. registry.example.com:5000; "
        "default: the registry the image names.",
    )

    def auth_config(self) -> dict[str, str]:
        config = {"username": self.username, "password": self.password.get_secret_value()}
        if self.registry_url:
            config["serveraddress"] = self.registry_url
        return config


class DockerContainer(Infrastructure):
    """Run the flow in a container on a Docker engine.

    The image must hold shipway and the project (``shipway image build`` makes one);
    the container runs ``python -m shipway.engine`` in the image's working directory.
    The identifier is ``<engine id>:<container id>``; :meth:`kill` stops the container
    from any process that can reach the same engine.
    """

    type: Literal["docker-container"] = "docker-container"
    field_descriptions: ClassVar[Mapping[str, str]] = {
        "name": "The container's name; default: <flow name>-<first 8 hex digits of the run id>.",
        "labels": "Labels put on the container, beside shipway's own (io.shipway.flow-run-id...).",
        "command": "The container's command, in place of python -m shipway.engine; it must "
        "start the engine.",
    }
    image: str = Field(
        default_factory=default_image,
        description="The image to run; default: shipway-runtime:<shipway version>-"
        "python<X.Y>, the tag to give `shipway image build`.",
    )
    image_pull_policy: PullPolicy | None = Field(
        default=None,
        description="always, if_not_present or never (any case; IfNotPresent works too). "
        "Default: always for a :latest or untagged image, never for the default image, "
        "else if_not_present.",
    )
    image_registry: ImageRegistry | None = Field(
        default=None, description="Credentials for pulling from a private registry."
    )
    networks: list[str] = Field(
        default_factory=list, description="Docker networks to attach the container to."
    )
    network_mode: str | None = Field(
        default=None,
        description="bridge, host, none or container:<name>; excludes networks.",
    )
    volumes: list[str] = Field(
        default_factory=list,
        description="host:container[:mode] mounts; ./relative host paths are taken from "
        "the project directory; a host part without / is a named volume.",
    )
    auto_remove: bool = Field(
        default=False,
        description="Remove the container once the run has ended and its output and "
        "exit status have been read.",
    )
    stream_output: bool = Field(
        default=True, description="Stream the container's stdout and stderr as lines arrive."
    )
    mem_limit: str | int | None = Field(
        default=None, description="Memory limit, e.g. 512m or 2g, or a number of bytes."
    )
    memswap_limit: str | int | None = Field(
        default=None,
        description="Memory plus swap limit (needs mem_limit; equal to it means no swap, "
        "-1 unlimited swap).",
    )
    privileged: bool = Field(default=False, description="Give the container extended privileges.")
    docker_host: str | None = Field(
        default=None,
        description="The engine to use, e.g. unix:///var/run/docker.sock or "
        "tcp://build-host:2376; default: DOCKER_HOST, else the local socket.",
    )

    # -- validation ----------------------------------------------------------------

    @field_validator("image")
    @classmethod
    def _image_given(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("image must name an image, e.g. shipway-runtime:0.1.0-python3.11")
        return value.strip()

    @field_validator("image_pull_policy", mode="before")
    @classmethod
    def _normalise_pull_policy(cls, value: Any) -> Any:
        return normalise_pull_policy(value) if isinstance(value, str) else value

    @field_validator("volumes")
    @classmethod
    def _volumes_well_formed(cls, value: list[str]) -> list[str]:
        for spec in value:
            split_volume(spec)
        return value

    @field_validator("mem_limit")
    @classmethod
    def _positive_memory(cls, value: str | int | None) -> str | int | None:
        if value is not None and memory_bytes(value) <= 0:
            raise ValueError(f"mem_limit must be more than 0 bytes, not {value!r}")
        return value

    @field_validator("memswap_limit")
    @classmethod
    def _swap_memory(cls, value: str | int | None) -> str | int | None:
        if value is not None and value not in (-1, "-1") and memory_bytes(value) <= 0:
            raise ValueError(f"memswap_limit must be more than 0 bytes, or -1, not {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DockerContainer:
        if self.networks and self.network_mode:
            raise ValueError(
                "networks and network_mode exclude each other: network_mode replaces the "
                "container's networking (set one of them)"
            )
        if self.memswap_limit is not None and self.memswap_limit not in (-1, "-1"):
            if self.mem_limit is None:
                raise ValueError("memswap_limit needs mem_limit: set both (equal means no swap)")
            if memory_bytes(self.memswap_limit) < memory_bytes(self.mem_limit):
                raise ValueError(
                    f"memswap_limit ({self.memswap_limit}) is memory plus swap, so it cannot "
                    f"be less than mem_limit ({self.mem_limit})"
                )
        return self

    @property
    def pull_policy(self) -> PullPolicy:
        """``image_pull_policy``, or the one inferred from the image's tag.

        The default image is built locally (``shipway image build``), never published,
        so it is never pulled unless a policy says so.
        """
        if self.image_pull_policy is not None:
            return self.image_pull_policy
        if self.image == default_image():
            return "never"
        return infer_pull_policy(self.image)

    # -- what to run ---------------------------------------------------------------

    def container_spec(self, job: Job, *, linux_engine: bool = True) -> ContainerSpec:
        """The container a run of ``job`` creates (no engine is contacted)."""
        # The engine resolves the entrypoint against the image's working directory.
        in_container = job.replace(working_dir=None)
        joins_other_container = (self.network_mode or "").startswith("container:")
        job_file = self.job_file_content(in_container)  # too large for the environment
        handover = self.job_environment(
            in_container, job_file=None if job_file is None else JOB_FILE_PATH
        )
        return ContainerSpec(
            image=self.image,
            name=run_container_name(self.name, job.flow_name, job.flow_run_id),
            command=self.job_command(),
            environment=without_unset(handover),
            labels={
                **self.labels,
                **run_labels(job, LABEL_PREFIX),
            },
            pull_policy=self.pull_policy,
            binds=resolve_volumes(self.volumes, job.working_dir),
            networks=list(self.networks),
            network_mode=self.network_mode,
            mem_limit=self.mem_limit,
            memswap_limit=self.memswap_limit,
            privileged=self.privileged,
            # A container sharing another's network stack cannot have its own hosts.
            extra_hosts=dict(HOST_GATEWAY) if linux_engine and not joins_other_container else {},
            auto_remove=self.auto_remove,
            job_file=job_file,
        )

    # -- the contract --------------------------------------------------------------

    async def run(
        self, job: Job, task_status: TaskStatus[str] = anyio.TASK_STATUS_IGNORED
    ) -> InfrastructureResult:
        # Abandoned on cancellation: an engine that does not answer must not hold up Ctrl-C.
        engine = await anyio.to_thread.run_sync(connect, self.docker_host, abandon_on_cancel=True)
        try:
            spec = self.container_spec(job, linux_engine=engine.os_type == "linux")
            await self._ensure_image(engine, spec)
            container_id = await anyio.to_thread.run_sync(create_container, engine, spec)
            return await self._run_container(engine, spec, container_id, task_status)
        finally:
            engine.close()

    async def _ensure_image(self, engine: Engine, spec: ContainerSpec) -> None:
        """Pull as the policy says; a cancelled run stops waiting for the pull at once
        (and the pull itself at its next progress event)."""
        progress = sys.stderr if sys.stderr.isatty() else None
        auth = self.image_registry.auth_config() if self.image_registry else None
        abandoned = threading.Event()
        try:
            await anyio.to_thread.run_sync(
                ensure_image,
                engine,
                spec.image,
                spec.pull_policy,
                auth,
                progress,
                abandoned,
                abandon_on_cancel=True,
            )
        except BaseException:
            abandoned.set()
            raise

    async def _run_container(
        self,
        engine: Engine,
        spec: ContainerSpec,
        container_id: str,
        task_status: TaskStatus[str],
    ) -> InfrastructureResult:
        api = engine.client.api
        output: ContainerOutput | None = None
        started = False
        try:
            if self.stream_output:
                with engine_errors(engine.address, "attaching to the container's output"):
                    frames = await anyio.to_thread.run_sync(attach, api, container_id)
                output = ContainerOutput(frames, self.write_output)
            await anyio.to_thread.run_sync(start_container, engine, spec, container_id)
            started = True
            identifier = format_identifier(engine.id or engine.address, container_id)
            task_status.started(identifier)
            waited = await self._wait_for_exit(engine, container_id, output)
            with engine_errors(engine.address, f"inspecting container {container_id[:12]}"):
                state = await anyio.to_thread.run_sync(container_state, api, container_id)
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                stopped = await self._abandon(engine, container_id, started, output)
            if not stopped and isinstance(exc, InfrastructureError):  # the engine went away, say
                short = container_id[:12]
                exc.hint = (
                    f"{exc.hint + ' ' if exc.hint else ''}Container {short} could not be "
                    f"stopped and may still be running: `docker stop {short}` once the "
                    "engine answers again."
                )
            raise
        if self.auto_remove:
            await anyio.to_thread.run_sync(remove_or_warn, engine, container_id)
        code = int(state.get("ExitCode", waited.get("StatusCode", -1)))
        return InfrastructureResult(identifier, code, self._reason(state, waited))

    async def _wait_for_exit(
        self, engine: Engine, container_id: str, output: ContainerOutput | None
    ) -> dict[str, Any]:
        """Wait for the container to exit while its output streams; return what the
        engine's wait says, once the output has ended too."""
        failure: Exception | None = None
        waited: dict[str, Any] = {}
        async with anyio.create_task_group() as tg:
            if output is not None:
                tg.start_soon(output.pump)
            try:
                waited = await anyio.to_thread.run_sync(
                    engine.client.api.wait, container_id, abandon_on_cancel=True
                )
            except Exception as exc:  # raised below, outside the task group's ExceptionGroup
                failure = exc
                tg.cancel_scope.cancel()
        if failure is not None:
            with engine_errors(engine.address, f"waiting for container {container_id[:12]}"):
                raise failure
        return waited

    async def _abandon(
        self,
        engine: Engine,
        container_id: str,
        started: bool,
        output: ContainerOutput | None,
    ) -> bool:
        """Cancelled, or the engine failed us: stop the container (keeping what it prints
        on the way out), and remove it if it never ran or auto_remove asks for it.
        False if it could not be stopped (the engine cannot be reached)."""
        import docker

        api = engine.client.api
        stopped = True
        if started:
            try:
                await anyio.to_thread.run_sync(
                    lambda: api.stop(container_id, timeout=_CANCEL_GRACE_SECONDS)
                )
            except docker.errors.NotFound:
                pass  # removed already: stopped too
            except Exception:
                stopped = False
            if output is not None:
                await output.drain(_CANCEL_GRACE_SECONDS + 5)
        if stopped and (self.auto_remove or not started):
            await anyio.to_thread.run_sync(remove_or_warn, engine, container_id)
        return stopped

    def _reason(self, state: dict[str, Any], waited: dict[str, Any]) -> str | None:
        """Docker's own diagnosis: out of memory, or an error it recorded."""
        if state.get("OOMKilled"):
            if self.mem_limit is not None:
                return f"out of memory (mem_limit {self.mem_limit})"
            return "out of memory"
        error = state.get("Error") or (waited.get("Error") or {}).get("Message")
        return str(error) if error else None

    async def kill(self, identifier: str, grace_seconds: int = 30) -> None:
        engine_id, container_id = parse_identifier(identifier)
        engine = await anyio.to_thread.run_sync(connect, self.docker_host, abandon_on_cancel=True)
        try:
            if engine_id not in (engine.id, engine.address):
                raise InfrastructureNotAvailable(
                    f"container {container_id[:12]} runs on the Docker engine {engine_id}, "
                    f"not on the one at {engine.address} ({engine.id}); it can only be "
                    "stopped through that engine",
                    hint="Set docker_host (or DOCKER_HOST) to the engine that runs it.",
                )
            await anyio.to_thread.run_sync(stop_container, engine, container_id, grace_seconds)
        finally:
            engine.close()

    def preview(self, job: Job | None = None) -> str:
        spec = self.container_spec(self.preview_job(job))
        return docker_run_command(spec, self.docker_host)

    # -- optional capability: images -----------------------------------------------

    @classmethod
    def build_image(cls, request: ImageBuildRequest) -> str:
        """Build an image of the project (``shipway image build``); return its id."""
        from shipway_docker._images import build_image  # only image builds pay for it

        return build_image(request)
