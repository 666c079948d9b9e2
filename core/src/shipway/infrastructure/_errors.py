from __future__ import annotations

from shipway.errors import ShipwayError

__all__ = ["InfrastructureError", "InfrastructureNotAvailable", "InfrastructureNotFound"]


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
