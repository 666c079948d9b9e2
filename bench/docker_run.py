"""Wall time of ``shipway run`` in a Docker container, against a bare ``docker run``.

Run it with the interpreter of the environment to measure, naming an image that holds
the examples project (see bench/README.md for how to build one):

    .venv/bin/python bench/docker_run.py --image shipway-runtime:0.1.0-python3.11 [--runs N]

Two commands are timed, each once as a warm-up and then ``--runs`` times, interleaved:

- ``shipway run hello``: the examples' hello flow, deployed as
  ``{type: docker-container, image: IMAGE, image_pull_policy: never, auto_remove: true}``
  from a temporary directory (the flow itself lives in the image);
- the floor: ``docker run --rm IMAGE python3 -c 'print(1)'``, a container start plus
  one interpreter on the same image.

It prints the median, min and max of each and the ratio of the medians (aim: <= 1.5x).
The aim is reported, not enforced. Standard library only, apart from the installed
``shipway`` and ``shipway-docker`` being measured and the ``docker`` command.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AIM = 1.5
DEPLOYMENT = """\
deployments:
  - name: hello
    flow: flows/hello.py:hello_world
    infrastructure:
      type: docker-container
      image: {image}
      image_pull_policy: never
      auto_remove: true
"""


@dataclasses.dataclass
class Command:
    label: str
    argv: list[str]
    cwd: Path | None = None
    seconds: list[float] = dataclasses.field(default_factory=list)

    def time_once(self) -> float:
        started = time.perf_counter()
        result = subprocess.run(
            self.argv,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            stderr = result.stderr.decode(errors="replace").strip()
            sys.exit(f"{self.label!r} exited with status {result.returncode}:\n{stderr}")
        return elapsed

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def required(program: Path | str | None, what: str) -> str:
    if program is None or not Path(program).exists():
        sys.exit(what)
    return str(program)


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Time `shipway run` in a Docker container against a bare `docker run`."
    )
    parser.add_argument(
        "--image",
        required=True,
        help="an image holding shipway and the examples project, e.g. built with "
        "`shipway image build examples --tag TAG`",
    )
    parser.add_argument("--runs", type=int, default=10, help="timed runs per command (default: 10)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    shipway = required(
        Path(sys.executable).parent / "shipway",
        f"no shipway script beside {sys.executable}. Run this with the interpreter of the "
        "environment where shipway and shipway-docker are installed, e.g. "
        ".venv/bin/python bench/docker_run.py --image TAG",
    )
    docker = required(shutil.which("docker"), "the docker command is not installed")
    inspect = subprocess.run(
        [docker, "image", "inspect", args.image], capture_output=True, text=True, check=False
    )
    if inspect.returncode != 0:
        sys.exit(
            f"image {args.image!r} is not on the Docker engine: {inspect.stderr.strip()}\n"
            f"Build it with: {shipway} image build examples --tag {args.image}\n"
            "(see bench/README.md)"
        )

    with tempfile.TemporaryDirectory(prefix="shipway-bench-") as scratch:
        project = Path(scratch)
        (project / "shipway.yaml").write_text(DEPLOYMENT.format(image=args.image), encoding="utf-8")
        shipway_run = Command("shipway run hello (container)", [shipway, "run", "hello"], project)
        floor = Command(
            "docker run --rm IMAGE python3 -c 'print(1)'",
            [docker, "run", "--rm", args.image, "python3", "-c", "print(1)"],
        )
        commands = [floor, shipway_run]
        for command in commands:  # warm-up, not counted
            command.time_once()
        for _ in range(args.runs):
            for command in commands:
                command.seconds.append(command.time_once())

    print(f"image: {args.image}")
    print(f"interpreter: {sys.executable} (Python {sys.version.split()[0]})")
    print(f"runs: {args.runs} per command, after one warm-up run each; wall time in ms")
    print()
    print(f"{'command':<46} {'median':>8} {'min':>8} {'max':>8}")
    for command in commands:
        print(
            f"{command.label:<46} {command.median * 1000:8.1f} "
            f"{min(command.seconds) * 1000:8.1f} {max(command.seconds) * 1000:8.1f}"
        )
    print()
    ratio = shipway_run.median / floor.median
    verdict = "within aim" if ratio <= AIM else "ABOVE aim"
    print(
        f"{'shipway run (container) / docker run floor':<46} {ratio:5.2f}x   "
        f"(aim <= {AIM:g}x: {verdict})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
