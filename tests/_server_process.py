"""``shipway server start`` as a real process on a free port of 127.0.0.1, and agents
that reach the store only through it (``agent start --api``): for the remote agent and
remote CLI tests (tests/server/test_remote_*.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from _agent_helpers import WAIT_SECONDS, AgentProcess, Agents

TOKEN = "remote-test-token-" + "x" * 30
# A database an agent of the API must never need: if it opened it, it would fail.
UNREACHABLE_DATABASE = "postgresql+psycopg://nobody@127.0.0.1:9/none"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """A shipway server over ``store_url`` with the token :data:`TOKEN`; ``stop`` and
    ``start`` again keep its port, as a restarted server would."""

    def __init__(self, store_url: str, home: Path, log: Path, secret_key: str) -> None:
        self.store_url = store_url
        self.secret_key = secret_key
        self.home = home
        self.log = log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_API_")}
        env.update(
            SHIPWAY_DATABASE_URL=self.store_url,
            SHIPWAY_HOME=str(self.home),
            SHIPWAY_SERVER_TOKEN=TOKEN,
            SHIPWAY_SECRET_KEY=self.secret_key,
        )
        return env

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from shipway.cli import main; main()", "server",
                 "start", "--port", str(self.port)],
                env=self.env(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + WAIT_SECONDS
        while not self._answers():
            assert self.process.poll() is None, self.output
            assert time.monotonic() < deadline, f"the server did not start:\n{self.output}"
            time.sleep(0.1)

    def _answers(self) -> bool:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        try:
            return httpx.get(f"{self.url}/api/health", headers=headers, timeout=2).is_success
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def start_remote_agent(
    agents: Agents, server: ServerProcess, *args: str, token: str = TOKEN
) -> AgentProcess:
    """``shipway agent start --api`` with ``token`` and no usable database: it can only
    work through the server."""
    env = agents.env()
    env.update(
        SHIPWAY_DATABASE_URL=UNREACHABLE_DATABASE,
        SHIPWAY_HOME=str(agents.logs / "remote-agent-home"),
        SHIPWAY_API_TOKEN=token,
    )
    env.pop("SHIPWAY_API_URL", None)
    log = agents.logs / f"remote-agent-{len(agents.started)}.log"
    agent = AgentProcess(env, ["--api", server.url, "--poll-interval", "0.2", *args], log)
    agents.started.append(agent)
    return agent
