"""Storage benchmark: what pulling code costs a run (issue 12).

Three figures, each with its aim (reported, not enforced):

1. a cached pull: ``python -m shipway.engine`` running a flow whose code is already in the
   pull cache, against the same flow run in place (no storage); aim: adds < 20 ms;
2. the first pull of a 10 MB project from a local S3 server (moto's, on 127.0.0.1):
   download and unpack into a fresh cache; aim: < 1 s;
3. ``shipway deployment apply`` of that project with remote-file-system storage on the
   same server, each time with a changed file, so the archive is uploaded; aim: < 2 s
   (and the push alone, in this process, to tell it from the command's own start).

Needs shipway, shipway-fsspec, s3fs and moto[server] installed in the environment of
the interpreter that runs it (``pip install -r requirements-dev.txt``)::

    .venv/bin/python bench/storage.py            # 15 timed runs each
    .venv/bin/python bench/storage.py --runs 30
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from _timing import Command, child_environment, measure, print_table

HOST = "127.0.0.1"
FLOW = "from shipway import flow\n\n\n@flow\ndef hello():\n    print('hello')\n"
PROJECT_MEGABYTES = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="shipway-bench-storage-") as scratch:
        root = Path(scratch)
        cached_pull(root, runs)
        with s3_server(root) as endpoint:
            first_pull_and_apply(root, endpoint, runs)


# -- 1. a cached pull ---------------------------------------------------------------------


def cached_pull(root: Path, runs: int) -> None:
    from shipway.jobs import JOB_ENV_VAR, Job
    from shipway.storage import STORAGE_CACHE_VAR, LocalFileSystem

    project = root / "small"
    (project / "flows").mkdir(parents=True)
    (project / "flows" / "hello.py").write_text(FLOW, encoding="utf-8")
    storage = LocalFileSystem(basepath=str(root / "shared"))
    ref = storage.push(project)
    in_place = Job(entrypoint="flows/hello.py:hello", working_dir=str(project))
    pulled = Job(entrypoint="flows/hello.py:hello", storage=storage.block(), storage_ref=ref)
    engine = [sys.executable, "-m", "shipway.engine"]
    commands = [
        _engine_command("run in place (no storage)", engine, in_place, {}),
        _engine_command(
            "run from the pull cache",
            engine,
            pulled,
            {STORAGE_CACHE_VAR: str(root / "cache")},
        ),
    ]
    os.environ.pop(JOB_ENV_VAR, None)
    measure(commands, runs)  # the warm-up run pulls; every timed run finds the cache
    print("== 1. cached pull: the engine running a flow ==")
    print_table(commands, runs)
    added = (commands[1].median - commands[0].median) * 1000
    verdict = "within aim" if added < 20 else "ABOVE aim"
    print(f"a cached pull adds {added:.1f} ms to a run (median; aim < 20 ms: {verdict})\n")


def _engine_command(label: str, argv: list[str], job: object, extra: dict[str, str]) -> Command:
    from shipway.jobs import JOB_ENV_VAR, Job

    assert isinstance(job, Job)
    command = _EnvCommand(label, argv)
    command.env = {**child_environment(), JOB_ENV_VAR: job.to_json(), **extra}
    return command


class _EnvCommand(Command):
    env: dict[str, str]

    def time_once(self) -> float:
        started = time.perf_counter()
        result = subprocess.run(
            self.argv, env=self.env, stdin=subprocess.DEVNULL, capture_output=True, check=False
        )
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            sys.exit(f"{self.label!r} failed:\n{result.stderr.decode(errors='replace')}")
        return elapsed


# -- 2 and 3. a 10 MB project on S3 -------------------------------------------------------


def first_pull_and_apply(root: Path, endpoint: str, runs: int) -> None:
    from shipway.storage import PullCache, load_storage

    project = _ten_megabyte_project(root / "large")
    block = {
        "type": "remote-file-system",
        "basepath": "s3://bench/flows",
        "settings": {"client_kwargs": {"endpoint_url": endpoint}},
    }
    storage = load_storage(block)
    _make_bucket(endpoint)
    ref = storage.push(project)

    def first_pull() -> None:
        cache = Path(tempfile.mkdtemp(dir=root))
        PullCache(cache).pull(storage, ref)
        shutil.rmtree(cache)

    pulls = _timed(first_pull, runs)
    _report("== 2. first pull of a 10 MB project from the local S3 server ==", pulls, 1000)

    counter = iter(range(1_000_000))

    def push() -> None:
        (project / "changed.txt").write_text(f"push {next(counter)}", encoding="utf-8")
        storage.push(project)

    pushes = _timed(push, runs)
    _report("== 3a. the push alone (in this process: hash, archive, upload) ==", pushes, 2000)

    (project / "shipway.yaml").write_text(
        "storage:\n  s3: " + json.dumps(block) + "\n"
        "deployments:\n  - name: bench\n    flow: flows/hello.py:hello\n"
        "    infrastructure: process\n    storage: s3\n",
        encoding="utf-8",
    )
    shipway = Path(sys.executable).parent / "shipway"
    environment = {**child_environment(), "SHIPWAY_HOME": str(root / "home")}

    def apply() -> None:
        (project / "changed.txt").write_text(f"apply {next(counter)}", encoding="utf-8")
        result = subprocess.run(
            [str(shipway), "deployment", "apply"],
            cwd=project,
            env=environment,
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            sys.exit(f"deployment apply failed:\n{result.stderr.decode(errors='replace')}")

    applies = _timed(apply, runs)
    _report("== 3b. shipway deployment apply + push of the same project ==", applies, 2000)

    baseline = root / "without-storage"
    (baseline / "flows").mkdir(parents=True)
    (baseline / "flows" / "hello.py").write_text(FLOW, encoding="utf-8")
    (baseline / "shipway.yaml").write_text(
        "deployments:\n  - name: bench\n    flow: flows/hello.py:hello\n"
        "    infrastructure: process\n",
        encoding="utf-8",
    )

    def apply_without_storage() -> None:
        subprocess.run(
            [str(shipway), "deployment", "apply"],
            cwd=baseline,
            env=environment,
            capture_output=True,
            check=True,
        )

    plain = _timed(apply_without_storage, runs)
    median = statistics.median(plain) * 1000
    print("== 3c. for comparison: shipway deployment apply of a deployment without storage ==")
    print(f"median {median:.0f} ms over {len(plain)} runs (what storage adds: 3b minus this)\n")


def _ten_megabyte_project(directory: Path) -> Path:
    (directory / "flows").mkdir(parents=True)
    (directory / "flows" / "hello.py").write_text(FLOW, encoding="utf-8")
    per_file = PROJECT_MEGABYTES * 1024 * 1024 // 100
    for index in range(100):  # incompressible, as a project's data and binaries would be
        (directory / "data").mkdir(exist_ok=True)
        (directory / "data" / f"part-{index:03d}.bin").write_bytes(os.urandom(per_file))
    return directory


def _timed(action: Callable[[], None], runs: int) -> list[float]:
    action()  # warm-up: imports, connections
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return seconds


def _report(title: str, seconds: list[float], aim_ms: float) -> None:
    median = statistics.median(seconds) * 1000
    verdict = "within aim" if median < aim_ms else "ABOVE aim"
    print(title)
    print(
        f"median {median:.0f} ms, min {min(seconds) * 1000:.0f} ms, "
        f"max {max(seconds) * 1000:.0f} ms over {len(seconds)} runs "
        f"(aim < {aim_ms:g} ms: {verdict})\n"
    )


def _make_bucket(endpoint: str) -> None:
    import s3fs

    s3fs.S3FileSystem(client_kwargs={"endpoint_url": endpoint}).mkdir("bench")


@contextlib.contextmanager
def s3_server(root: Path) -> Iterator[str]:
    """moto's standalone S3 server on 127.0.0.1 (any credentials accepted)."""
    for name, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench")):
        os.environ.setdefault(name, value)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port = sock.getsockname()[1]
    executable = Path(sys.executable).parent / "moto_server"
    with open(root / "moto.log", "wb") as log:
        server = subprocess.Popen(
            [str(executable), "-H", HOST, "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection((HOST, port), 0.2):
                break
            if time.monotonic() > deadline or server.poll() is not None:
                sys.exit(f"moto_server did not start: {(root / 'moto.log').read_text()}")
            time.sleep(0.05)
        yield f"http://{HOST}:{port}"
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
