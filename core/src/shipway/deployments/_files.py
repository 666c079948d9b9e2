"""Load deployments from a ``shipway.yaml`` or from a Python file defining ``Deployment``s."""

from __future__ import annotations

import importlib.util
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shipway.deployments._model import Deployment, collect_deployments
from shipway.deployments._validation import config_error_from_validation
from shipway.deployments._yaml import Locations, load_yaml
from shipway.errors import ConfigError, DeploymentNotFound, ShipwayError

__all__ = ["DEFAULT_FILE", "DeploymentFile", "load_deployment_file"]

DEFAULT_FILE = "shipway.yaml"
_TOP_LEVEL_KEYS = ("infrastructure", "storage", "deployments")


class DeploymentFile:
    """The deployments and named infrastructure and storage blocks of one file."""

    def __init__(
        self,
        path: Path,
        deployments: list[Deployment],
        blocks: dict[str, dict[str, Any]] | None = None,
        locate: Locations | None = None,
        display: str | None = None,
        storage_blocks: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.path = path
        self.display = display or str(path)
        self.blocks = blocks or {}
        self.storage_blocks = storage_blocks or {}
        self.locate = locate or Locations(self.display)
        self.deployments: dict[str, Deployment] = {}
        self._index: dict[str, int] = {}
        for index, deployment in enumerate(deployments):
            if deployment.name in self.deployments:
                raise ConfigError(
                    f"two deployments are named {deployment.name!r}; names must be unique",
                    location=self.locate(("deployments", index, "name")),
                )
            self.deployments[deployment.name] = deployment
            self._index[deployment.name] = index

    @property
    def directory(self) -> Path:
        return self.path.parent

    def get(self, name: str) -> Deployment:
        try:
            return self.deployments[name]
        except KeyError:
            known = ", ".join(self.deployments) or "none"
            raise DeploymentNotFound(
                f"no deployment named {name!r} in {self.display}. Known deployments: {known}.",
                hint="`shipway deployment ls` lists them.",
            ) from None

    def index_of(self, name: str) -> int:
        return self._index[name]

    def working_dir_for(self, deployment: Deployment) -> Path:
        """The project directory: the deployment's ``path`` (relative to this file),
        else the file's own directory."""
        if deployment.path:
            return (self.directory / deployment.path).resolve()
        return self.directory.resolve()


def load_deployment_file(file: str | Path | None = None) -> DeploymentFile:
    display = str(file) if file is not None else DEFAULT_FILE
    path = Path(display)
    if not path.exists():
        hint = (
            "Pass the file with -f FILE, or create a shipway.yaml here (see examples/)."
            if file is None
            else "Check the path given to -f."
        )
        raise ShipwayError(f"deployment file {display!r} not found", hint=hint)
    if path.is_dir():
        raise ShipwayError(f"{display!r} is a directory; -f expects a shipway.yaml or a .py file")
    if path.suffix == ".py":
        return _load_python(path, display)
    return _load_yaml(path, display)


def _load_yaml(path: Path, display: str) -> DeploymentFile:
    data, locate = load_yaml(path, display)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            "the file must be a mapping with 'deployments:' (and optionally 'infrastructure:')",
            location=locate(),
        )
    for key in data:
        if key not in _TOP_LEVEL_KEYS:
            raise ConfigError(
                f"unknown top-level key {key!r} (expected: {', '.join(_TOP_LEVEL_KEYS)})",
                location=locate((key,)),
            )
    blocks = _named_blocks(data, "infrastructure", "local", "process", locate)
    storage_blocks = _named_blocks(data, "storage", "code", "git-repository", locate)
    entries = data.get("deployments") or []
    if not isinstance(entries, list):
        raise ConfigError(
            "'deployments' must be a list of deployments (each starting with '- name: ...')",
            location=locate(("deployments",)),
        )
    deployments = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ConfigError(
                "each deployment must be a mapping with at least 'name' and 'flow'",
                location=locate(("deployments", index)),
            )
        try:
            deployments.append(Deployment.model_validate(entry))
        except ValidationError as exc:
            label = entry.get("name") or f"#{index + 1}"
            raise config_error_from_validation(
                exc,
                what=f"deployment {label!r} in {display}",
                prefix=("deployments", index),
                locate=locate,
                model=Deployment,
            ) from exc
    return DeploymentFile(path, deployments, blocks, locate, display, storage_blocks)


def _named_blocks(
    data: dict[str, Any], section: str, example_name: str, example_type: str, locate: Locations
) -> dict[str, dict[str, Any]]:
    """The ``infrastructure:`` or ``storage:`` section: block names to settings with a type."""
    blocks = data.get(section) or {}
    if not isinstance(blocks, dict):
        raise ConfigError(
            f"'{section}' must map block names to settings, "
            f"e.g.  {example_name}: {{type: {example_type}}}",
            location=locate((section,)),
        )
    for block_name, block in blocks.items():
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise ConfigError(
                f"{section} block {block_name!r} needs a 'type' (e.g. type: {example_type})",
                location=locate((section, block_name)),
            )
    return {str(name): block for name, block in blocks.items()}


def _load_python(path: Path, display: str) -> DeploymentFile:
    directory = str(path.resolve().parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    spec = importlib.util.spec_from_file_location("__shipway_deployments__", path.resolve())
    if spec is None or spec.loader is None:
        raise ShipwayError(f"cannot import {display}")
    module = importlib.util.module_from_spec(spec)
    with collect_deployments() as found, warnings.catch_warnings():
        # Show deprecations raised by the file itself, as Python does for __main__.
        warnings.filterwarnings("default", category=DeprecationWarning, module=spec.name)
        try:
            spec.loader.exec_module(module)
        except ShipwayError:
            raise
        except ValidationError as exc:
            where = _line_in(exc, path, display)
            raise config_error_from_validation(
                exc, what=f"a Deployment in {display}", locate=lambda loc: where
            ) from exc
        except Exception as exc:
            where = _line_in(exc, path, display)
            raise ConfigError(
                f"loading deployments raised {type(exc).__name__}: {exc}",
                location=where,
                hint="Run with --debug for the full traceback.",
            ) from exc
    for value in vars(module).values():  # Deployments made before collection, e.g. imported
        if isinstance(value, Deployment) and all(value is not d for d in found):
            found.append(value)
    return DeploymentFile(path, found, display=display)


def _line_in(exc: BaseException, path: Path, display: str) -> str:
    """``deployments.py:12`` for the deepest frame of the traceback inside ``path``."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename) == path.resolve():
            line = frame.lineno
    return f"{display}:{line}" if line else display
