from __future__ import annotations

from shipway.errors import ShipwayError
from shipway.exit_status import ExitStatus

__all__ = [
    "InfrastructureError",
    "InfrastructureNotAvailable",
    "InfrastructureNotFound",
    "InfrastructureUnreachable",
]


class InfrastructureError(ShipwayError):
    """The infrastructure could not do what was asked (start a run, reach a daemon...).

    Plugins raise it with a message that names the thing and the next step; the CLI
    shows it without a traceback and the run is recorded as crashed.
    """


class InfrastructureNotFound(InfrastructureError):
    """``kill`` found nothing under that identifier: it has already gone. Treat as stopped."""


class InfrastructureNotAvailable(InfrastructureError):
    """``kill`` cannot reach it: another host, Docker engine or cluster owns it.

    Leave it for whoever can reach that place.
    """


class InfrastructureUnreachable(InfrastructureError):
    """The platform cannot be reached now: a daemon down, a refused or timed-out
    connection, a name that does not resolve. Nothing is wrong with the deployment, and
    trying again later may work: ``shipway run`` exits with the could-not-start status
    (3), not the one for a mistake in the input (2)."""

    exit_code = ExitStatus.CANNOT_START
