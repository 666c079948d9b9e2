"""The ``docker run`` command line equivalent to a container spec."""

from __future__ import annotations

import shlex

from shipway.infrastructure import mask_secrets
from shipway_docker._spec import JOB_FILE_PATH, ContainerSpec

__all__ = ["docker_run_command"]

# `docker run --pull` spells "if not present" as "missing".
_PULL_FLAG = {"always": "always", "if_not_present": "missing", "never": "never"}


def docker_run_command(spec: ContainerSpec, docker_host: str | None = None) -> str:
    """One option per line, values shell-quoted, secret-looking variables masked.

    Registry credentials never appear: ``docker run`` takes none (``docker login``
    holds them), and a preview must not show a password anyway.
    """
    words: list[list[str]] = [
        ["docker", *(["-H", docker_host] if docker_host else []), "run"],
    ]
    if spec.auto_remove:
        words.append(["--rm"])
    words.append(["--pull", _PULL_FLAG[spec.pull_policy]])
    words.append(["--name", spec.name])
    words.extend(["--label", f"{key}={value}"] for key, value in spec.labels.items())
    masked = mask_secrets(dict(spec.environment))
    words.extend(["-e", f"{key}={value}"] for key, value in masked.items())
    words.extend(["-v", bind] for bind in spec.binds)
    if spec.network_mode:
        words.append(["--network", spec.network_mode])
    words.extend(["--network", network] for network in spec.networks)
    if spec.mem_limit is not None:
        words.append(["--memory", str(spec.mem_limit)])
    if spec.memswap_limit is not None:
        words.append(["--memory-swap", str(spec.memswap_limit)])
    if spec.privileged:
        words.append(["--privileged"])
    words.extend(["--add-host", f"{host}:{address}"] for host, address in spec.extra_hosts.items())
    words.append([spec.image])
    words.append(spec.command)
    text = " \\\n  ".join(shlex.join(line) for line in words)
    if spec.job_file is not None:  # what `docker run` cannot say
        text += (
            f"\n# the job ({len(spec.job_file)} bytes, too large for SHIPWAY_FLOW_RUN) is "
            f"copied into the container as {JOB_FILE_PATH} before it starts"
        )
    return text
