"""The standard test flows, a project directory holding them, and Jobs that run them."""

from __future__ import annotations

import dataclasses
import shutil
import textwrap
from pathlib import Path
from typing import Any

from shipway.jobs import Job

__all__ = [
    "FLOWS_DIRNAME",
    "STANDARD_FLOWS",
    "FlowJobs",
    "ShipwayProject",
    "standard_flows_dir",
    "write_standard_project",
]

FLOWS_DIRNAME = "flows"
"""The project's sub-directory holding the flows: entrypoints are ``flows/<name>.py:<name>``."""

STANDARD_FLOWS = (
    "digest",
    "echo",
    "exits_later",
    "failing",
    "hello",
    "holds_child",
    "leaves_child",
    "sleeper",
    "stubborn",
    "unflushed",
)
"""Each is ``flows/<name>.py`` with a flow function ``<name>``."""


def standard_flows_dir() -> Path:
    """The directory (shipped inside the ``shipway`` package) holding the standard flows.

    Copy it to ``<project>/flows``, for example into an image whose working directory
    is the project, to run the conformance suite on a platform that cannot see this
    machine's files; :func:`write_standard_project` does that for a local directory.
    """
    return Path(__file__).resolve().parent / FLOWS_DIRNAME


def write_standard_project(directory: str | Path) -> Path:
    """Create (or refresh) ``directory/flows`` with the standard flows; return ``directory``."""
    project = Path(directory)
    target = project / FLOWS_DIRNAME
    target.mkdir(parents=True, exist_ok=True)
    for name in STANDARD_FLOWS:
        shutil.copyfile(standard_flows_dir() / f"{name}.py", target / f"{name}.py")
    return project


@dataclasses.dataclass(frozen=True)
class FlowJobs:
    """Build :class:`~shipway.jobs.Job` objects for flows in a project's ``flows/`` folder.

    ``working_dir`` is where the project is *as the infrastructure sees it*: a local
    path for process-like plugins, the directory inside an image, or ``None`` to use
    the platform's default working directory (an image's ``WORKDIR``).
    """

    working_dir: str | None = None

    def job(self, flow: str, /, **parameters: Any) -> Job:
        """A job running ``flows/<flow>.py:<flow>`` with ``parameters``."""
        return Job(
            entrypoint=f"{FLOWS_DIRNAME}/{flow}.py:{flow}",
            parameters=parameters,
            working_dir=self.working_dir,
            deployment_name=f"shipway-testing-{flow}",
        )

    def hello(self, name: str = "world") -> Job:
        """Prints ``Hello, <name>!`` and exits 0."""
        return self.job("hello", name=name)

    def echo(self, message: str, **parameters: Any) -> Job:
        """Prints ``shipway-echo: {json}``: its parameters and the value of the environment
        variable named by ``variable`` (default ``SHIPWAY_CONFORMANCE_VALUE``)."""
        return self.job("echo", message=message, **parameters)

    def digest(self, data: str) -> Job:
        """Prints ``shipway-digest: <length> <SHA-256 of data as UTF-8>``."""
        return self.job("digest", data=data)

    def failing(self, message: str = "failing on purpose") -> Job:
        """Prints ``about to fail``, then raises ``RuntimeError(message)``: exit status 1."""
        return self.job("failing", message=message)

    def sleeper(self, seconds: float = 600.0) -> Job:
        """Prints ``started``, sleeps, and prints ``cleanup`` on the way out, killed or not."""
        return self.job("sleeper", seconds=seconds)

    def leaves_child(self, marker: str, seconds: float = 60.0) -> Job:
        """Starts a process with ``marker`` on its command line that writes a line every
        0.2 s for ``seconds``, prints ``returning`` and returns while it still runs."""
        return self.job("leaves_child", marker=marker, seconds=seconds)

    def holds_child(self, marker: str, seconds: float = 60.0) -> Job:
        """Starts a process with ``marker`` on its command line that sleeps ``seconds``,
        prints ``started child <pid>``, and sleeps as long itself."""
        return self.job("holds_child", marker=marker, seconds=seconds)

    def unflushed(self, seconds: float = 4.0) -> Job:
        """Prints ``shipway-unflushed: printed without flush`` without flushing, sleeps
        ``seconds``, then prints ``shipway-unflushed: done``."""
        return self.job("unflushed", seconds=seconds)

    def exits_later(self, seconds: float = 5.0, code: int = 3) -> Job:
        """Prints ``started``, sleeps ``seconds`` and exits with status ``code``."""
        return self.job("exits_later", seconds=seconds, code=code)

    def stubborn(self, seconds: float = 600.0) -> Job:
        """Ignores SIGTERM, prints ``ignoring SIGTERM`` and sleeps: only a forced stop
        (SIGKILL or the platform's equivalent) ends it early."""
        return self.job("stubborn", seconds=seconds)


@dataclasses.dataclass(frozen=True)
class ShipwayProject:
    """A project directory on this machine holding the standard flows (and any you add)."""

    path: Path

    @classmethod
    def create(cls, directory: str | Path) -> ShipwayProject:
        return cls(write_standard_project(directory).resolve())

    @property
    def jobs(self) -> FlowJobs:
        """Jobs for the flows of this project, with the project as working directory."""
        return FlowJobs(working_dir=str(self.path))

    def write_flow(self, name: str, source: str, /, **parameters: Any) -> Job:
        """Write ``flows/<name>.py`` (dedented ``source`` defining a flow ``name``) and
        return a job running it with ``parameters``."""
        path = self.path / FLOWS_DIRNAME / f"{name}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
        return self.jobs.job(name, **parameters)
