from __future__ import annotations

import dataclasses

__all__ = ["JobAdditions"]


@dataclasses.dataclass(frozen=True)
class JobAdditions:
    """What a ``shipway_job_submitting`` hook adds to a run: env and labels.

    Additions never replace what the deployment set; the deployment wins on conflicts.
    """

    env: dict[str, str] = dataclasses.field(default_factory=dict)
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
