"""Reach the cluster, and turn its failures into one message that says what to do.

Every function here blocks (the official client is synchronous): callers run them in a
worker thread with ``anyio.to_thread.run_sync``. Credentials stay inside the client's
configuration; no message here ever includes them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from shipway.infrastructure import InfrastructureError, InfrastructureUnreachable
from shipway_kubernetes._backoff import Backoff

if TYPE_CHECKING:
    from kubernetes import client

__all__ = [
    "Cluster",
    "api_errors",
    "connect",
    "describe_api_error",
    "is_retryable",
    "retry_transient",
    "status_of",
]

SERVICE_HOST_VARIABLE = "KUBERNETES_SERVICE_HOST"
TRANSIENT_RETRY_SECONDS = 30.0
"""How long a single request (not a watch) is retried while the server answers 5xx/429
or the connection breaks."""

T = TypeVar("T")


def retry_transient(call: Callable[[], T], give_up_after: float = TRANSIENT_RETRY_SECONDS) -> T:
    """``call()``, tried again with backoff while it fails in a way worth retrying."""
    backoff = Backoff(give_up_after, threading.Event())  # never stopped from outside
    while True:
        try:
            return call()
        except Exception as exc:
            if not is_retryable(exc) or not backoff.wait():
                raise


@dataclasses.dataclass
class Cluster:
    """A connected cluster: the client, where it is, and its uid."""

    api: client.ApiClient
    server: str
    uid: str

    def core(self) -> client.CoreV1Api:
        from kubernetes import client

        return client.CoreV1Api(self.api)

    def batch(self) -> client.BatchV1Api:
        from kubernetes import client

        return client.BatchV1Api(self.api)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a pool must not hide the run's result
            self.api.close()  # type: ignore[no-untyped-call]  # the client's close is untyped

    def as_dict(self, obj: Any) -> Any:
        """A client model (or a list of them) as the API spells it: camelCase dicts."""
        return self.api.sanitize_for_serialization(obj)  # type: ignore[no-untyped-call]  # untyped


def load_configuration(
    kubeconfig: Path | None, context: str | None, in_cluster: bool | None
) -> client.Configuration:
    """The client configuration: in-cluster (the pod's service account) when asked, or
    when no kubeconfig is named, none exists and we run in a pod; else the kubeconfig
    (``kubeconfig``, ``$KUBECONFIG`` or ``~/.kube/config``) and its ``context``."""
    from kubernetes import client, config

    configuration = client.Configuration()
    default_file = Path(os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0])
    use_cluster = in_cluster
    if use_cluster is None:
        use_cluster = (
            kubeconfig is None
            and not default_file.expanduser().exists()
            and SERVICE_HOST_VARIABLE in os.environ
        )
    try:
        if use_cluster:
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]  # untyped
        else:
            config.load_kube_config(  # type: ignore[no-untyped-call]  # kubernetes.config is untyped
                config_file=str(kubeconfig.expanduser()) if kubeconfig else None,
                context=context,
                client_configuration=configuration,
            )
    except config.ConfigException as exc:
        where = "in-cluster configuration" if use_cluster else (
            f"kubeconfig {kubeconfig or default_file}"
            + (f" (context {context!r})" if context else "")
        )
        raise InfrastructureError(
            f"cannot load the Kubernetes {where}: {exc}",
            hint="Set kubeconfig (and context) to a file that reaches the cluster, or "
            "in_cluster: true when the agent runs in a pod with a service account.",
        ) from None
    return configuration


def connect(
    kubeconfig: Path | None,
    context: str | None,
    in_cluster: bool | None,
    *,
    pool_size: int | None = None,
) -> Cluster:
    """Connect and read the cluster uid (the ``kube-system`` namespace's uid).
    ``pool_size``: how many connections to keep open (the client's default otherwise)."""
    from kubernetes import client

    configuration = load_configuration(kubeconfig, context, in_cluster)
    if pool_size is not None:
        configuration.connection_pool_maxsize = pool_size
    api = client.ApiClient(configuration)
    server = str(configuration.host)
    try:
        with api_errors(server, "identifying the cluster (reading namespace kube-system)"):
            namespace = retry_transient(
                lambda: client.CoreV1Api(api).read_namespace("kube-system", _request_timeout=30)
            )
    except BaseException:
        api.close()  # type: ignore[no-untyped-call]  # the client's close is untyped
        raise
    uid = namespace.metadata.uid if namespace.metadata else None
    return Cluster(api, server, str(uid or server))


def status_of(exc: Exception) -> dict[str, Any]:
    """The ``Status`` object the API server sent with an error, or ``{}``."""
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str):
        return {}
    try:
        status = json.loads(body)
    except ValueError:
        return {}
    return status if isinstance(status, dict) else {}


def is_retryable(exc: BaseException) -> bool:
    """Worth trying again: the server is overloaded, restarting, or the connection broke."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    if isinstance(exc, ApiException):
        return exc.status in (0, 429, 500, 502, 503, 504) or exc.status is None
    return isinstance(exc, (HTTPError, ConnectionError, TimeoutError))


def describe_api_error(exc: Exception, server: str, doing: str) -> InfrastructureError:
    """One InfrastructureError for a failed API call, with what the user should do (an
    InfrastructureUnreachable when no answer came: exit status 3, not 2)."""
    from kubernetes.client.exceptions import ApiException

    if not isinstance(exc, ApiException):
        return InfrastructureUnreachable(
            f"cannot reach the Kubernetes API server at {server} while {doing}: "
            f"{type(exc).__name__}: {exc}",
            hint="Check that the cluster is up and that kubeconfig/context point at it.",
        )
    status = status_of(exc)
    message = str(status.get("message") or exc.reason or "").strip()
    details = status.get("details") or {}
    if exc.status == 401:
        return InfrastructureError(
            f"the Kubernetes API server at {server} did not accept our credentials "
            f"(401 Unauthorized) while {doing}",
            hint="Refresh the kubeconfig's credentials (an expired token or certificate), "
            "or select another context.",
        )
    if exc.status == 403:
        return InfrastructureError(
            f"permission denied while {doing}: {missing_permission(status) or message}",
            hint="Grant the missing permission to the user or service account running "
            "shipway (see the Kubernetes plugin docs for the minimal RBAC Role).",
        )
    if exc.status == 404 and details.get("kind") == "namespaces":
        name = details.get("name", "?")
        return InfrastructureError(
            f"the namespace {name!r} does not exist on the cluster at {server}",
            hint=f"Create it (kubectl create namespace {name}) or set namespace to an "
            "existing one.",
        )
    if exc.status == 422 or exc.status == 400:
        return InfrastructureError(
            f"the Kubernetes API server rejected the Job while {doing}: {message}",
            hint="Check the job manifest and customizations (`shipway deployment preview`).",
        )
    return InfrastructureError(
        f"the Kubernetes API server at {server} answered {exc.status} "
        f"{exc.reason or ''} while {doing}: {message}".rstrip(": "),
    )


def missing_permission(status: dict[str, Any]) -> str | None:
    """``user "x" cannot create resource "jobs" in API group "batch" in the namespace "y"``
    from a 403 Status, phrased as the verb and resource an RBAC rule must allow."""
    message = str(status.get("message") or "")
    details = status.get("details") or {}
    kind = details.get("kind")
    verb = None
    marker = "cannot "
    if marker in message:
        verb = message.split(marker, 1)[1].split(" ", 1)[0]
    if not verb or not kind:
        return None
    group = details.get("group") or ""
    resource = f"{kind}" if not group else f"{kind}.{group}"
    where = ""
    if " in the namespace " in message:
        where = " in namespace " + message.split(" in the namespace ", 1)[1].strip().strip(
            "\"'"
        ).split('"')[0]
    elif "at the cluster scope" in message:
        where = " at the cluster scope"
    who = message.split(" cannot ", 1)[0].strip()
    return f"{who} lacks the RBAC permission '{verb}' on '{resource}'{where} ({message})"


@contextlib.contextmanager
def api_errors(server: str, doing: str) -> Iterator[None]:
    """Turn client failures inside the block into one InfrastructureError."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        yield
    except (ApiException, HTTPError, OSError) as exc:
        raise describe_api_error(exc, server, doing) from None
