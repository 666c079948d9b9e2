"""The error tree drawn in the ``shipway.errors`` docstring is the real one: every
``ShipwayError`` subclass in the core, under its parent, importable from the module named
beside it, with its exit status when it is not 2."""

from __future__ import annotations

import importlib
import pkgutil
import re

import shipway
from shipway import errors
from shipway.errors import ShipwayError
from shipway.exit_status import ExitStatus

# A line of the drawing: its indentation (the tree's depth), the class and its module.
DRAWN = re.compile(r"^(?P<indent>[ │├└─]*)(?P<name>\w+)\s+(?P<module>shipway[\w.]*)(?P<rest>.*)$")


# Extras a module may need (shipway[migrate], shipway[postgres], shipway[server]); the core
# installs without.
OPTIONAL = {"libcst", "psycopg", "starlette", "uvicorn", "jinja2", "multipart"}


def _core_modules() -> None:
    for module in pkgutil.walk_packages(shipway.__path__, "shipway."):
        name = module.name
        if name.endswith("__main__") or ".migrations" in name or "plugin_template" in name:
            continue
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name not in OPTIONAL:
                raise


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        if sub.__module__.startswith("shipway."):
            found |= {sub, *_subclasses(sub)}
    return found


def _drawing() -> list[tuple[int, str, str, str]]:
    assert errors.__doc__ is not None
    lines = []
    for line in errors.__doc__.splitlines():
        match = DRAWN.match(line[4:])  # the drawing is indented by four spaces
        if match:
            depth = len(match["indent"]) // 4
            lines.append((depth, match["name"], match["module"], match["rest"]))
    return lines


def test_every_shipway_error_is_drawn_under_its_parent() -> None:
    _core_modules()
    drawing = _drawing()
    drawn_names = {name for _, name, _, _ in drawing}
    real = _subclasses(ShipwayError)
    assert {cls.__name__ for cls in real} | {"ShipwayError"} == drawn_names

    parents: list[str] = []
    for depth, name, module, rest in drawing:
        del parents[depth:]
        cls = getattr(importlib.import_module(module), name)
        assert issubclass(cls, ShipwayError), name
        if parents:
            assert parents[-1] in {base.__name__ for base in cls.__mro__[1:]}, name
        if cls.exit_code != ExitStatus.USER_ERROR:
            assert f"exit status {int(cls.exit_code)}" in rest, name
        parents.append(name)
