"""The server's API and web UI with 100,000 runs in SQLite: list and page latency, live
log latency, memory.

Run it with the interpreter of an environment where ``shipway[server]`` and
shipway-process are installed:

    .venv/bin/python bench/server_api.py [--runs 100000] [--requests 50] [--lines 20]

What it does, in a temporary SHIPWAY_HOME (SQLite):

1. seeds ``--runs`` flow runs of three deployments on two work queues, spread over 30
   days, mostly Completed with some Failed and Scheduled (a few hundred through the
   store's façade, the rest copied from them with sqlite3 in one transaction, which is
   what makes 100,000 take seconds instead of minutes);
2. starts ``shipway server start`` on a free port of 127.0.0.1 (a real process) and
   times ``--requests`` requests of each of: ``GET /api/flow-runs?limit=50``, the same
   filtered by state, deployment and work queue, the 100th page (through its cursor),
   and ``GET /api/flow-runs/{id}``; then the web UI's runs page ``/flow-runs`` (first
   page, filtered, the 100th page through its "Older" link), the dashboard ``/`` and a
   deployment page; median and 95th percentile, in milliseconds, as the client sees them
   (connection kept alive);
3. starts ``shipway agent start`` and runs a flow printing ``--lines`` lines 0.2 s apart,
   each holding the time it was printed, while reading the run's
   ``/logs/stream``: the live log latency is each line's arrival minus its printing
   (median and max);
4. keeps one stream open for 5 s on a run that prints nothing, and reports the server's
   CPU share meanwhile (the cost of its polling);
5. reads the server's resident memory (VmRSS, and its peak VmHWM) from /proc.

Aims (issue 11): list and runs page median < 50 ms, live log median < 300 ms, server RSS < 120 MB.
Reported, not enforced: the script exits 0 either way.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from shipway.store import DeploymentSpec, open_store

LIST_AIM_MS = 50.0
LOG_AIM_MS = 300.0
RSS_AIM_MB = 120.0
SHIPWAY = [sys.executable, "-c", "from shipway.cli import main; main()"]
TICKER = """
    import time
    from shipway import flow

    @flow
    def ticker(count: int = 20, interval: float = 0.2) -> None:
        for i in range(count):
            print(f"tick {i} {time.time():.6f}", flush=True)
            time.sleep(interval)
"""
DEPLOYMENTS = (("d1", "q1"), ("d2", "q1"), ("d3", "q2"))


def _sqlite_time(value: datetime) -> str:
    """How SQLAlchemy stores a datetime in SQLite (naive UTC, always microseconds)."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def seed(home: Path, project: Path, runs: int) -> None:
    store = open_store()
    for name, queue in DEPLOYMENTS:
        store.apply_deployment(
            DeploymentSpec(
                name=name,
                entrypoint="flows/ticker.py:ticker",
                flow_name="ticker",
                working_dir=str(project),
                parameters={},
                infrastructure={"type": "process", "env": {"API_TOKEN": "not-shown"}},
                work_queue=queue,
            )
        )
    templates = [store.create_flow_run(name).id for name, _ in DEPLOYMENTS]
    store.close()
    connection = sqlite3.connect(home / "shipway.db")
    connection.row_factory = sqlite3.Row
    rows = [
        dict(connection.execute("SELECT * FROM flow_runs WHERE id = ?", (i,)).fetchone())
        for i in templates
    ]
    columns = list(rows[0])
    now = datetime.now(timezone.utc)
    states = ["Completed"] * 16 + ["Failed"] * 3 + ["Scheduled"]
    values = []
    for n in range(runs - len(templates)):
        row = dict(rows[n % len(rows)])
        due = now - timedelta(seconds=30 * 24 * 3600 * (n / runs))
        state = states[(n // len(rows)) % len(states)]
        if state == "Scheduled" and row["work_queue"] != "q2":
            state = "Completed"  # the agent below polls q1: it must not run old runs
        row.update(
            id=str(uuid.uuid4()),
            state=state,
            scheduled_time=_sqlite_time(due),
            created=_sqlite_time(due),
            updated=_sqlite_time(due),
        )
        values.append(tuple(row[c] for c in columns))
    with connection:
        connection.executemany(
            f"INSERT INTO flow_runs ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})",
            values,
        )
    connection.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def process(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        child = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield child
        finally:
            child.send_signal(signal.SIGINT)
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server exited:\n{log.read_text()}")
        try:
            httpx.get(f"{url}/api/health", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    sys.exit(f"the server did not answer in 60 s:\n{log.read_text()}")


def time_requests(client: httpx.Client, path: str, count: int) -> list[float]:
    for _ in range(3):  # warm-up
        client.get(path).raise_for_status()
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        client.get(path).raise_for_status()
        seconds.append(time.perf_counter() - started)
    return seconds


def report(label: str, seconds: list[float], aim_ms: float | None = None) -> None:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    line = f"{label:<44} median {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms"
    if aim_ms is not None:
        verdict = "within aim" if statistics.median(ms) < aim_ms else "ABOVE aim"
        line += f"   (aim < {aim_ms:g} ms: {verdict})"
    print(line)


def measure_lists(client: httpx.Client, requests: int) -> None:
    base = "/api/flow-runs?limit=50"
    report(base, time_requests(client, base, requests), LIST_AIM_MS)
    filters = ["&state=failed", "&deployment=d2", "&work_queue=q2"]
    for extra in [*filters, "&state=scheduled&deployment=d3"]:
        report(f"  ...{extra}", time_requests(client, base + extra, requests))
    cursor = None
    for _ in range(99):
        cursor = client.get(base + (f"&cursor={cursor}" if cursor else "")).json()["next_cursor"]
    page = f"{base}&cursor={cursor}"
    report("  ...the 100th page (cursor)", time_requests(client, page, requests))
    one = f"/api/flow-runs/{client.get(base).json()['runs'][0]['id']}"
    report("GET /api/flow-runs/{id}", time_requests(client, one, requests))


def measure_pages(client: httpx.Client, requests: int, pid: int) -> None:
    """The web UI's pages over the same store: the runs page (its first page, filtered,
    its 100th page through the "Older" link's cursor), the dashboard and a deployment
    page; with the server's CPU time per request, which a busy machine inflates less
    than the wall time."""

    def timed(label: str, path: str, aim_ms: float | None = None) -> None:
        before = cpu_seconds(pid)
        seconds = time_requests(client, path, requests)
        cpu_ms = (cpu_seconds(pid) - before) / (requests + 3) * 1000
        report(label, seconds, aim_ms)
        print(f"{'':<44} server CPU {cpu_ms:5.1f} ms a request")

    timed("GET /api/flow-runs?limit=50 (to compare)", "/api/flow-runs?limit=50")
    timed("page /flow-runs", "/flow-runs", LIST_AIM_MS)
    for query in ["?state=Failed", "?deployment=d2", "?work_queue=q2"]:
        report(f"  ...{query}", time_requests(client, "/flow-runs" + query, requests))
    path = "/flow-runs"
    for _ in range(99):
        found = re.search(r'rel="next" href="([^"]+)"', client.get(path).text)
        assert found, "no Older link"
        path = html.unescape(found.group(1))
    report("  ...the 100th page (Older link)", time_requests(client, path, requests))
    timed("page / (dashboard)", "/")
    timed("page /deployments/d1 (Run form)", "/deployments/d1")


def log_latencies(client: httpx.Client, lines: int) -> list[float]:
    run = client.post("/api/deployments/d1/runs", json={"parameters": {"count": lines}}).json()
    latencies = []
    with client.stream("GET", f"/api/flow-runs/{run['id']}/logs/stream", timeout=120) as stream:
        event = ""
        for raw in stream.iter_lines():
            if raw.startswith("event: "):
                event = raw[len("event: ") :]
            elif raw.startswith("data: ") and event == "log":
                text = json.loads(raw[len("data: ") :])["text"]
                if text.startswith("tick "):
                    latencies.append(time.time() - float(text.rsplit(" ", 1)[1]))
            elif raw.startswith("data: ") and event == "end":
                break
    if len(latencies) != lines:
        sys.exit(f"the stream gave {len(latencies)} of {lines} lines")
    return latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_stream_cpu(client: httpx.Client, pid: int, seconds: float) -> float:
    """The server's CPU share while one client follows a run that prints nothing (a run
    of d3, on q2, which no agent polls here)."""
    run = client.post("/api/deployments/d3/runs", json={}).json()
    with client.stream("GET", f"/api/flow-runs/{run['id']}/logs/stream", timeout=60) as stream:
        lines = stream.iter_lines()
        next(lines)  # the stream is open
        before, started = cpu_seconds(pid), time.monotonic()
        time.sleep(seconds)
        used, elapsed = cpu_seconds(pid) - before, time.monotonic() - started
    client.post(f"/api/flow-runs/{run['id']}/cancel")
    return used / elapsed


def memory_mb(pid: int) -> dict[str, float]:
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--lines", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shipway-bench-") as tmp:
        home = Path(tmp) / "home"
        project = Path(tmp) / "project"
        (project / "flows").mkdir(parents=True)
        (project / "flows" / "ticker.py").write_text(textwrap.dedent(TICKER).lstrip())
        os.environ["SHIPWAY_HOME"] = str(home)
        os.environ.pop("SHIPWAY_DATABASE_URL", None)
        env = dict(os.environ)
        started = time.perf_counter()
        seed(home, project, args.runs)
        print(f"seeded {args.runs} runs in {time.perf_counter() - started:.1f} s (SQLite)")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server_log = Path(tmp) / "server.log"
        argv = [*SHIPWAY, "server", "start", "--port", str(port)]
        with process(argv, env, server_log) as server, httpx.Client(base_url=url) as client:
            wait_until_up(url, server, server_log)
            measure_lists(client, args.requests)
            measure_pages(client, args.requests, server.pid)
            agent_argv = [*SHIPWAY, "agent", "start", "--poll-interval", "0.2", "-q", "q1"]
            with process(agent_argv, env, Path(tmp) / "agent.log"):
                latencies = log_latencies(client, args.lines)
            report(f"live log latency over SSE ({args.lines} lines)", latencies, LOG_AIM_MS)
            print(f"{'':<44} max    {max(latencies) * 1000:7.1f} ms")
            share = idle_stream_cpu(client, server.pid, 5.0)
            print(f"{'server CPU, one idle log stream open':<44} {share * 100:.1f} % of a core")
            memory = memory_mb(server.pid)
            verdict = "within aim" if memory["VmRSS"] < RSS_AIM_MB else "ABOVE aim"
            rss, peak = memory["VmRSS"], memory["VmHWM"]
            print(
                f"{'server memory':<44} RSS {rss:.0f} MB, peak {peak:.0f} MB"
                f"   (aim < {RSS_AIM_MB:g} MB: {verdict})"
            )


if __name__ == "__main__":
    main()
