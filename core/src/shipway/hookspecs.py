"""The hooks a shipway plugin can implement.

Every hook name starts with ``shipway_``. Implement one by defining a function of
the same name, decorated with :data:`shipway.hookimpl`, in the module your entry
point names. An implementation may accept any subset of the arguments below:
pluggy passes only the ones it asks for, so adding an argument in a later version
never breaks an existing plugin. Arguments are only ever added, never renamed
or removed, within a ``HOOKSPEC_VERSION``. Each hook's docstring says since which
shipway version it exists (``.. versionadded::``), as docs/hooks.md does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from shipway._markers import hookspec

if TYPE_CHECKING:
    from shipway.infrastructure import Infrastructure, JobAdditions
    from shipway.jobs import Job
    from shipway.states import State
    from shipway.storage import Storage

HOOKSPEC_VERSION = 1
"""Raised only when a hook changes incompatibly (an argument removed or renamed)."""


@hookspec
def shipway_infrastructure_types() -> Sequence[type[Infrastructure]]:  # type: ignore[empty-body]
    """Return the :class:`~shipway.infrastructure.Infrastructure` classes this plugin provides.

    Each class's ``type`` default must equal the name of an entry point in the
    ``shipway.infrastructure`` group that points at this module; that is the name
    users select it by.

    .. versionadded:: 0.1.0
    """


@hookspec
def shipway_storage_types() -> Sequence[type[Storage]]:  # type: ignore[empty-body]
    """Return the :class:`~shipway.storage.Storage` classes this plugin provides.

    Each class's ``type`` default must equal the name of an entry point in the
    ``shipway.storage`` group that points at this module; that is the name a
    ``storage:`` block selects it by. Resolved exactly like infrastructure types.

    .. versionadded:: 0.2.0
    """


@hookspec
def shipway_job_submitting(job: Job, infrastructure: Infrastructure) -> JobAdditions | None:
    """A flow run is about to be submitted: return env and labels to add, or ``None``.

    Called once per run, before ``Infrastructure.run``. What the deployment sets
    itself wins over what a hook adds. Do not block: this runs on the submitting path.

    .. versionadded:: 0.1.0
    """


@hookspec
def shipway_flow_run_state_changed(job: Job, state: State) -> None:
    """A flow run entered ``state`` (Pending, Running, then a final state).

    ``state.identifier`` is set from Running on; final states reached through the
    infrastructure carry ``state.result``. A run that could not be submitted ends
    Crashed with the reason in ``state.message``. Exceptions raised here are
    reported and otherwise ignored: an observer cannot break a run.

    .. versionadded:: 0.1.0
    """
