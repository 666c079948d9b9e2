"""Import a flow from its entrypoint: ``path/to/file.py:function`` or ``pkg.module:function``."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from shipway.errors import FlowLoadError
from shipway.flows import Flow

__all__ = ["FlowImportError", "is_file_entrypoint", "load_flow", "split_entrypoint"]


class FlowImportError(Exception):
    """The user's flow module raised while being imported; ``__cause__`` is their error."""


def split_entrypoint(entrypoint: str) -> tuple[str, str]:
    """``"flows/hello.py:hello_world"`` -> ``("flows/hello.py", "hello_world")``."""
    target, sep, attribute = entrypoint.rpartition(":")
    if not sep or not target or not attribute:
        raise FlowLoadError(
            f"entrypoint {entrypoint!r} must look like 'path/to/file.py:function' "
            "or 'package.module:function'"
        )
    return target, attribute


def is_file_entrypoint(target: str) -> bool:
    return target.endswith(".py") or "/" in target or os.sep in target


def load_flow(entrypoint: str, working_dir: str | os.PathLike[str] | None = None) -> Flow[..., Any]:
    """Import the entrypoint's module and return its flow.

    ``working_dir`` (default: the current directory) is where relative file paths
    resolve and goes first on ``sys.path``, so a flow can import modules beside it;
    a file entrypoint's own directory follows it there, for modules next to the file.
    A plain function is accepted and wrapped as a flow.
    """
    base = Path(working_dir) if working_dir is not None else Path.cwd()
    target, attribute = split_entrypoint(entrypoint)
    if str(base) not in sys.path:
        sys.path.insert(0, str(base))
    if is_file_entrypoint(target):
        module = _import_file(base, target)
        where = target
    else:
        module = _import_module(target)
        where = f"module {target!r}"
    obj: Any = module
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise FlowLoadError(
                f"{attribute!r} not found in {where}" + _flows_defined_in(module),
                hint="Check the function name after ':' in the entrypoint.",
            )
        obj = getattr(obj, part)
    if isinstance(obj, Flow):
        return obj
    if callable(obj):
        return Flow(obj)
    raise FlowLoadError(f"{attribute!r} in {where} is a {type(obj).__name__}, not a function")


def _flows_defined_in(module: ModuleType) -> str:
    names = sorted(name for name, value in vars(module).items() if isinstance(value, Flow))
    return f" (flows defined there: {', '.join(names)})" if names else " (it defines no @flow)"


def _module_name_for(base: Path, path: Path) -> str:
    """``flows/hello.py`` under the project -> ``flows.hello``, so imports stay consistent."""
    try:
        parts = path.with_suffix("").relative_to(base).parts
    except ValueError:
        parts = ()
    if parts and all(part.isidentifier() for part in parts):
        return ".".join(parts)
    return f"__shipway_flow_{abs(hash(str(path)))}"


def _import_file(base: Path, target: str) -> ModuleType:
    path = (base / target).resolve()
    if not path.is_file():
        raise FlowLoadError(
            f"flow file {target!r} not found (looked for {path})",
            hint="Entrypoint paths are relative to the deployment file's directory.",
        )
    # Like `python flows/hello.py`: modules beside the flow file import by their bare
    # name. After the project directory, so a project-level module of the same name wins.
    if str(path.parent) not in sys.path:
        sys.path.insert(sys.path.index(str(base)) + 1, str(path.parent))
    name = _module_name_for(base.resolve(), path)
    existing = sys.modules.get(name)
    if existing is not None and getattr(existing, "__file__", None) == str(path):
        return existing
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise FlowLoadError(f"cannot import flow file {target!r}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop(name, None)
        raise FlowImportError(f"importing {target} raised {type(exc).__name__}") from exc
    return module


def _import_module(target: str) -> ModuleType:
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        if exc.name and (target == exc.name or target.startswith(exc.name + ".")):
            raise FlowLoadError(
                f"flow module {target!r} not found",
                hint="Use a file path ('flows/hello.py:fn') or install the package.",
            ) from None
        raise FlowImportError(f"importing {target} raised ModuleNotFoundError") from exc
    except BaseException as exc:
        raise FlowImportError(f"importing {target} raised {type(exc).__name__}") from exc
