import pluggy

PROJECT_NAME = "shipway"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks a hook specification in :mod:`shipway.hookspecs`."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a plugin's implementation of a shipway hook: ``@hookimpl``."""
