"""The ``kubernetes-job`` infrastructure: its fields, and run, kill, reattach and preview on
top of the helpers (``_manifest``, ``_cluster``, ``_lifecycle``, ``_follow``)."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar, Literal

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream
from pydantic import Field, field_validator, model_validator

from shipway.infrastructure import (
    Infrastructure,
    InfrastructureError,
    InfrastructureNotAvailable,
    InfrastructureNotFound,
    InfrastructureResult,
    Job,
    SecretRef,
)
from shipway_kubernetes._cluster import Cluster
from shipway_kubernetes._connections import shared_cluster
from shipway_kubernetes._diagnosis import job_finished
from shipway_kubernetes._fields import (
    PullPolicy,
    default_image,
    env_entry,
    job_name,
    normalise_pull_policy,
    quantity,
)
from shipway_kubernetes._follow import JobFollower
from shipway_kubernetes._handover import (
    JOB_FILE_PATH,
    SECRET_MAX_BYTES,
    compress_job,
    job_secret_manifest,
    job_secret_name,
)
from shipway_kubernetes._identifier import format_identifier, parse_identifier
from shipway_kubernetes._informer import Event, essentials, following
from shipway_kubernetes._lifecycle import (
    create_job,
    create_secret,
    delete_job,
    delete_or_warn,
    read_job,
    read_pods,
)
from shipway_kubernetes._limits import api_call
from shipway_kubernetes._manifest import (
    CONTAINER_NAME,
    JobSettings,
    ManifestError,
    apply_customizations,
    build_manifest,
    check_patches,
    manifest_problems,
    shipway_labels,
)
from shipway_kubernetes._preview import manifest_yaml

__all__ = ["KubernetesJob"]

# When a run is cancelled in-process (not through kill), or fails, its pod gets this long.
_CANCEL_GRACE_SECONDS = 10

EnvValue = str | SecretRef | dict[str, Any] | None


class KubernetesJob(Infrastructure):
    """Run the flow as a Kubernetes Job (one pod, ``restartPolicy: Never``).

    The image must hold shipway and the project (``shipway image build`` makes one and
    your registry serves it); the container runs ``python -m shipway.engine``. The
    identifier is ``<cluster uid>:<namespace>:<job name>``; :meth:`kill` deletes the
    Job and its pod from any process that can reach the same cluster.
    """

    type: Literal["kubernetes-job"] = "kubernetes-job"
    field_descriptions: ClassVar[Mapping[str, str]] = {
        "name": "The start of the Job's name, <name>-<first 8 hex digits of the run id>-"
        "<random suffix> (63 characters at most); default: the flow's name.",
        "labels": "Labels put on the Job and its pod, beside shipway's own "
        "(shipway.io/flow-run-id...).",
        "command": "The container's command, in place of python -m shipway.engine; it must "
        "start the engine.",
    }
    image: str = Field(
        default_factory=default_image,
        description="The image to run; default: shipway-runtime:<shipway version>-"
        "python<X.Y>, the tag to give `shipway image build` (push it where the cluster "
        "pulls from).",
    )
    namespace: str = Field(default="default", description="The namespace to run the Job in.")
    service_account_name: str | None = Field(
        default=None, description="The service account the pod runs as; default: the namespace's."
    )
    image_pull_policy: PullPolicy | None = Field(
        default=None,
        description="Always, IfNotPresent or Never (any case); default: Kubernetes' own "
        "(Always for :latest or untagged images, else IfNotPresent).",
    )
    kubeconfig: Path | None = Field(
        default=None,
        description="The kubeconfig file to connect with; default: KUBECONFIG, else "
        "~/.kube/config, else the in-cluster service account. Its credentials are never "
        "printed.",
    )
    context: str | None = Field(
        default=None, description="The kubeconfig context; default: its current context."
    )
    in_cluster: bool | None = Field(
        default=None,
        description="true: use the pod's service account (an agent running in the "
        "cluster); false: always use a kubeconfig; default: decide as described for "
        "kubeconfig.",
    )
    job: dict[str, Any] | None = Field(
        default=None,
        description="A base Job manifest (a mapping, or the path of a YAML file) that the "
        "other fields are laid over: node selectors, volumes, tolerations, sidecars...",
    )
    customizations: list[dict[str, Any]] = Field(
        default_factory=list,
        description="RFC 6902 JSON patch operations applied to the finished manifest, "
        'last, e.g. [{"op": "add", "path": "/spec/activeDeadlineSeconds", "value": 3600}].',
    )
    job_watch_timeout_seconds: float | None = Field(
        default=None,
        gt=0,
        description="Longest a whole run may take before its Job is deleted; default: no limit.",
    )
    pod_watch_timeout_seconds: float | None = Field(
        default=300,
        gt=0,
        description="Longest the pod may take to start (scheduling, image pull) before "
        "the run ends with the cluster's reason; null: wait as long as it takes.",
    )
    stream_output: bool = Field(
        default=True, description="Stream the pod's log (stdout and stderr merged) as it grows."
    )
    finished_job_ttl: int | None = Field(
        default=None,
        ge=0,
        description="Seconds after which the cluster deletes a finished Job "
        "(ttlSecondsAfterFinished); default: keep it.",
    )
    env: dict[str, EnvValue] = Field(  # type: ignore[assignment]  # widens the base: valueFrom
        default_factory=dict,
        description="Environment variables for the flow run: a string, a secret reference "
        "{secret: NAME} (the Secret NAME, key value; NAME/KEY for another key), or a valueFrom "
        'source such as {"secretKeyRef": {"name": "db", "key": "password"}}; null leaves '
        "the variable out.",
    )

    # The cluster reads {secret: NAME} from its own Secrets (a secretKeyRef): the agent
    # neither needs nor sees the value.
    resolves_secret_references: ClassVar[bool] = True
    annotations: dict[str, str] = Field(
        default_factory=dict, description="Annotations for the Job and its pod."
    )
    cpu_request: str | None = Field(default=None, description="CPU request, e.g. 500m or 2.")
    cpu_limit: str | None = Field(default=None, description="CPU limit, e.g. 1 or 1500m.")
    memory_request: str | None = Field(
        default=None, description="Memory request, e.g. 256Mi or 1Gi."
    )
    memory_limit: str | None = Field(default=None, description="Memory limit, e.g. 512Mi or 2Gi.")
    backoff_limit: int | None = Field(
        default=None,
        ge=0,
        description="How many times the Job controller retries a failed pod; default: 0 "
        "(shipway's own retries decide).",
    )

    # -- validation ----------------------------------------------------------------

    @field_validator("image")
    @classmethod
    def _image_given(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("image must name an image, e.g. registry.example.com/flows:1.0")
        return value.strip()

    @field_validator("image_pull_policy", mode="before")
    @classmethod
    def _normalise_pull_policy(cls, value: Any) -> Any:
        return normalise_pull_policy(value) if isinstance(value, str) else value

    @field_validator("namespace")
    @classmethod
    def _namespace_is_a_label(cls, value: str) -> str:
        import re

        if not re.match(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", value):
            raise ValueError(
                f"namespace {value!r} is not a valid namespace name (lower-case letters, "
                "digits and '-', at most 63)"
            )
        return value

    @field_validator("job", mode="before")
    @classmethod
    def _load_job_file(cls, value: Any) -> Any:
        if isinstance(value, (str, Path)):
            return _load_manifest_file(Path(value))
        return value

    @field_validator("customizations", mode="before")
    @classmethod
    def _patches_well_formed(cls, value: Any) -> Any:
        return check_patches(value) if value is not None else []

    @field_validator("env")
    @classmethod
    def _env_sources_valid(cls, value: dict[str, EnvValue]) -> dict[str, EnvValue]:
        for name, item in value.items():
            if isinstance(item, (dict, SecretRef)):
                env_entry(name, item)
        return value

    @field_validator("cpu_request", "cpu_limit", "memory_request", "memory_limit", mode="before")
    @classmethod
    def _quantities(cls, value: Any, info: Any) -> Any:
        return None if value is None else quantity(value, info.field_name)

    @model_validator(mode="after")
    def _manifest_builds(self) -> KubernetesJob:
        """Build a Job for a sample run now, so that a base manifest or a patch that
        breaks it is reported with the configuration, before anything is sent."""
        self.job_manifest(self.preview_job(None), job_name_suffix="check")
        return self

    # -- what to run ---------------------------------------------------------------

    def job_manifest(self, job: Job, *, job_name_suffix: str | None = None) -> dict[str, Any]:
        """The Job a run of ``job`` creates (no cluster is contacted). Raises ValueError
        (a ManifestError) naming the base-manifest key or the patch that breaks it."""
        name = job_name(self.name, job.flow_name, job.flow_run_id, job_name_suffix)
        # The engine resolves the entrypoint against the image's working directory.
        # valueFrom sources in env pass through job_environment unchanged.
        in_container = job.replace(working_dir=None)
        large = self.job_file_content(in_container) is not None  # in a Secret, then
        env: Mapping[str, EnvValue] = self.job_environment(
            in_container, job_file=JOB_FILE_PATH if large else None
        )
        resources: dict[str, dict[str, str]] = {}
        for kind, cpu, memory in (
            ("requests", self.cpu_request, self.memory_request),
            ("limits", self.cpu_limit, self.memory_limit),
        ):
            values = {key: v for key, v in (("cpu", cpu), ("memory", memory)) if v is not None}
            if values:
                resources[kind] = values
        settings = JobSettings(
            job_name=name,
            namespace=self.namespace,
            image=self.image,
            command=self.job_command(),
            env=env,
            labels={
                **self.labels,
                **shipway_labels(name, job),
            },
            annotations=dict(self.annotations),
            image_pull_policy=self.image_pull_policy,
            service_account_name=self.service_account_name,
            backoff_limit=self.backoff_limit,
            finished_job_ttl=self.finished_job_ttl,
            resources=resources,
            job_secret=job_secret_name(name) if large else None,
        )
        manifest = build_manifest(self.job, settings)
        problems = manifest_problems(manifest)
        if problems:
            raise ManifestError(f"the Job is not valid: {'; '.join(problems)}")
        return apply_customizations(manifest, self.customizations)

    # -- the contract --------------------------------------------------------------

    async def run(
        self, job: Job, task_status: TaskStatus[str] = anyio.TASK_STATUS_IGNORED
    ) -> InfrastructureResult:
        try:
            manifest = self.job_manifest(job)
        except ManifestError as exc:
            raise InfrastructureError(
                str(exc), hint="Fix the job or customizations field (`preview` shows the Job)."
            ) from None
        large_job = self._large_job(job)
        async with self._connected() as cluster:
            return await self._run_job(cluster, manifest, large_job, task_status)

    def _large_job(self, job: Job) -> bytes | None:
        """The job as its Secret holds it (gzip), when it is too large for the
        environment; None when it is not. One too large for a Secret is an error."""
        content = self.job_file_content(job.replace(working_dir=None))
        if content is None:
            return None
        compressed = compress_job(content)
        if len(compressed) > SECRET_MAX_BYTES:
            raise InfrastructureError(
                f"the job is too large to hand over on Kubernetes: {len(compressed)} bytes "
                f"even gzip-compressed, and a Secret holds at most {SECRET_MAX_BYTES}",
                hint="Pass large inputs by reference (a path or URL the flow reads) "
                "instead of as parameters.",
            )
        return compressed

    @asynccontextmanager
    async def _connected(self) -> AsyncIterator[Cluster]:
        """The cluster, connected once for all the runs of this event loop that share
        these connection settings (see _connections)."""
        async with shared_cluster(self.kubeconfig, self.context, self.in_cluster) as cluster:
            yield cluster

    async def _run_job(
        self,
        cluster: Cluster,
        manifest: dict[str, Any],
        large_job: bytes | None,
        task_status: TaskStatus[str],
    ) -> InfrastructureResult:
        namespace = manifest["metadata"]["namespace"]
        name = manifest["metadata"]["name"]
        container = manifest["spec"]["template"]["spec"]["containers"][0]["name"]
        # Followed before it exists: no event about it can be missed.
        async with following(cluster, namespace, name) as events:
            # Shielded: a Job created while we were being cancelled must still be deleted,
            # which the block below does at the first checkpoint after it.
            with anyio.CancelScope(shield=True):
                job_uid = (await api_call(create_job, cluster, manifest))["metadata"]["uid"]
            identifier = format_identifier(cluster.uid, namespace, name)
            try:
                if large_job is not None:  # the pod waits for it to mount; the Job owns it
                    secret = job_secret_manifest(manifest, job_uid, large_job)
                    await api_call(create_secret, cluster, secret)
                task_status.started(identifier)
                follower = self._follower(cluster, identifier, namespace, name, container, events)
                if self.job_watch_timeout_seconds is None:
                    return await follower.follow()
                with anyio.move_on_after(self.job_watch_timeout_seconds):
                    return await follower.follow()
                raise InfrastructureError(
                    f"Job {name} in namespace {namespace} did not finish within "
                    f"job_watch_timeout_seconds ({self.job_watch_timeout_seconds:g} s); "
                    "it was deleted",
                    hint="Raise job_watch_timeout_seconds (or remove it: no limit).",
                )
            except BaseException:
                # Cancelled, timed out or failed: leave no Job or pod behind.
                with anyio.CancelScope(shield=True):
                    await api_call(delete_or_warn, cluster, namespace, name, _CANCEL_GRACE_SECONDS)
                raise

    def _follower(
        self,
        cluster: Cluster,
        identifier: str,
        namespace: str,
        name: str,
        container: str,
        events: MemoryObjectReceiveStream[Event],
        logs_since: datetime.datetime | None = None,
    ) -> JobFollower:
        return JobFollower(
            cluster,
            identifier,
            namespace,
            name,
            container,
            self.write_output,
            events,
            stream_output=self.stream_output,
            pod_watch_timeout=self.pod_watch_timeout_seconds,
            memory_limit=self.memory_limit,
            logs_since=logs_since,
        )

    def _check_reachable(self, cluster: Cluster, identifier: str) -> tuple[str, str]:
        """(namespace, job name) of a run this configuration can reach, else
        InfrastructureNotAvailable."""
        cluster_uid, namespace, name = parse_identifier(identifier)
        if cluster_uid != cluster.uid:
            raise InfrastructureNotAvailable(
                f"Job {name} runs on the cluster {cluster_uid}, not on the one at "
                f"{cluster.server} ({cluster.uid}); it can only be reached through that cluster",
                hint="Set kubeconfig/context to the cluster that runs it.",
            )
        if namespace != self.namespace:
            raise InfrastructureNotAvailable(
                f"Job {name} runs in namespace {namespace}, not in {self.namespace}, the "
                "namespace this configuration manages",
                hint=f"Use a configuration with namespace: {namespace}.",
            )
        return namespace, name

    async def kill(self, identifier: str, grace_seconds: int = 30) -> None:
        parse_identifier(identifier)  # a malformed identifier needs no cluster to refuse
        async with self._connected() as cluster:
            namespace, name = self._check_reachable(cluster, identifier)
            found = await api_call(read_job, cluster, namespace, name)
            if job_finished(found):
                raise InfrastructureNotFound(
                    f"Job {name} in namespace {namespace} has finished: the flow run has ended"
                )
            await api_call(delete_job, cluster, namespace, name, grace_seconds)

    async def reattach(self, identifier: str) -> InfrastructureResult:
        """Follow a Job another process created to its end (the ``ReattachesRuns``
        capability); its log is forwarded from now on."""
        parse_identifier(identifier)
        since = datetime.datetime.now(datetime.timezone.utc)
        async with self._connected() as cluster:
            namespace, name = self._check_reachable(cluster, identifier)
            async with following(cluster, namespace, name) as events:
                found = await api_call(read_job, cluster, namespace, name)
                pods = await api_call(read_pods, cluster, namespace, name)
                containers = found["spec"]["template"]["spec"].get("containers") or [{}]
                container = containers[0].get("name") or CONTAINER_NAME
                follower = self._follower(
                    cluster, identifier, namespace, name, container, events, since
                )
                for kind, obj in [("job", found), *(("pod", pod) for pod in pods)]:
                    follower.already_seen(kind, essentials(obj))
                return await follower.follow()

    def preview(self, job: Job | None = None) -> str:
        """The Job manifest as YAML. A run's Job name ends in a random suffix; the
        preview's is derived from the job, so previews of one job are identical."""
        shown = self.preview_job(job)
        suffix = hashlib.sha256(shown.to_json().encode()).hexdigest()[:5]
        manifest = self.job_manifest(shown, job_name_suffix=suffix)
        text = manifest_yaml(manifest)
        large_job = self.job_file_content(shown.replace(working_dir=None))
        if large_job is not None:  # not shown: it is the job itself, and may hold secrets
            text += (
                f"# and Secret {job_secret_name(manifest['metadata']['name'])}, owned by the "
                f"Job: the job ({len(large_job)} bytes, too large for SHIPWAY_FLOW_RUN), "
                f"gzip-compressed, mounted as {JOB_FILE_PATH}\n"
            )
        return text


def _load_manifest_file(path: Path) -> dict[str, Any]:
    import yaml

    try:
        loaded = yaml.safe_load(path.expanduser().read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read the job manifest {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"the job manifest {path} is not valid YAML: {exc}") from None
    if not isinstance(loaded, dict):
        raise ValueError(f"the job manifest {path} must hold one mapping (a Job manifest)")
    return loaded
