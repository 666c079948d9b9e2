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

It prints the median, min and max of each and the ratio of the medians (aim: <= 2x).
The aim is reported, not enforced. Standard library only, apart from the installed
``shipway`` and ``shipway-docker`` being measured and the ``docker`` command.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _timing import Command, measure, print_table, ratio_line

AIM = 2.0
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
        measure(commands, args.runs)

    print(f"image: {args.image}")
    print_table(commands, args.runs)
    ratio = shipway_run.median / floor.median
    print(ratio_line("shipway run (container) / docker run floor", ratio, AIM))
    return 0


if __name__ == "__main__":
    sys.exit(main())
