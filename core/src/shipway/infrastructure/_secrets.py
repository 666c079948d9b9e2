"""A run's secrets, as the process that starts it sees them: references read, and every
secret value collected so that the run's output can be masked."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from shipway.infrastructure._base import Infrastructure
from shipway.secrets import SecretRef, secret_values

__all__ = ["RunSecrets", "resolve_secrets"]


@dataclasses.dataclass(frozen=True)
class RunSecrets:
    infrastructure: Infrastructure
    """The infrastructure to run: ``{secret: NAME}`` env values replaced by the secrets'
    values, unless its platform reads them itself."""
    values: frozenset[str]
    """Every secret value the run holds (``SecretStr`` fields, secret-named variables,
    the references read): what its output and messages are masked with."""


def resolve_secrets(
    infrastructure: Infrastructure, read: Callable[[SecretRef], str] | None = None
) -> RunSecrets:
    """Read the secret references of ``infrastructure`` (``read``, default
    :meth:`SecretRef.read`: this process's environment, then the secrets folder).

    Raises :class:`~shipway.secrets.SecretNotFound` for the first one missing."""
    read = read or SecretRef.read
    refs = {name: ref for name, ref in infrastructure.env.items() if isinstance(ref, SecretRef)}
    read_values: dict[str, str] = {}
    if refs and not infrastructure.resolves_secret_references:
        read_values = {name: read(ref) for name, ref in refs.items()}
        infrastructure = infrastructure.model_copy(
            update={"env": {**infrastructure.env, **read_values}}
        )
    values = secret_values(infrastructure.model_dump()) | set(read_values.values())
    return RunSecrets(infrastructure, frozenset(values))
