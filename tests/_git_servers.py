"""Git servers on 127.0.0.1 for the storage tests: ``git daemon`` (no authentication)
and ``git http-backend`` behind a small HTTP server that wants a token (HTTP Basic)."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import _ci
from _servers import HOST, free_port, listening_process

__all__ = [
    "TOKEN",
    "GitServers",
    "commit_all",
    "git",
    "git_servers",
    "new_bare_repository",
    "servers",
]

TOKEN = "shipway-test-git-token-4b1d"

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "shipway tests",
    "GIT_AUTHOR_EMAIL": "tests@shipway.invalid",
    "GIT_COMMITTER_NAME": "shipway tests",
    "GIT_COMMITTER_EMAIL": "tests@shipway.invalid",
}


def git(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_IDENTITY},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def commit_all(checkout: Path, message: str = "commit") -> str:
    git("add", "-A", cwd=checkout)
    git("commit", "-q", "-m", message, cwd=checkout)
    return git("rev-parse", "HEAD", cwd=checkout)


@dataclasses.dataclass(frozen=True)
class GitServers:
    root: Path
    """The directory both servers serve repositories from."""
    daemon_url: str
    """git://127.0.0.1:PORT"""
    http_url: str
    """http://127.0.0.1:PORT, which wants ``token`` (any user name)."""
    token: str

    def daemon(self, name: str) -> str:
        return f"{self.daemon_url}/{name}.git"

    def http(self, name: str) -> str:
        return f"{self.http_url}/{name}.git"


def new_bare_repository(servers: GitServers, name: str, checkout: Path) -> str:
    """A bare repository ``name`` on the servers holding ``checkout``'s commits (its
    ``origin``); returns the pushed commit."""
    bare = servers.root / f"{name}.git"
    git("init", "-q", "--bare", "-b", "main", str(bare), cwd=servers.root)
    if not (checkout / ".git").exists():
        git("init", "-q", "-b", "main", cwd=checkout)
    commit = commit_all(checkout, f"project {name}")
    git("remote", "add", "origin", str(bare), cwd=checkout)
    git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=checkout)
    return commit


@contextlib.contextmanager
def git_servers(root: Path, logs: Path, token: str) -> Iterator[GitServers]:
    daemon_port = free_port()
    daemon = [
        "git",
        "daemon",
        f"--listen={HOST}",
        f"--port={daemon_port}",
        f"--base-path={root}",
        "--export-all",
        "--reuseaddr",
        "--informative-errors",
        str(root),
    ]
    with (
        listening_process(daemon, daemon_port, log=logs / "git-daemon.log"),
        _http_backend(root, token) as http_url,
    ):
        yield GitServers(root, f"git://{HOST}:{daemon_port}", http_url, token)


@contextlib.contextmanager
def _http_backend(root: Path, token: str) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _authorized(self) -> bool:
            header = self.headers.get("Authorization", "")
            if header == f"Bearer {token}":
                return True
            if header.startswith("Basic "):  # any user name, the token as password
                decoded = base64.b64decode(header[6:]).decode("utf-8", "replace")
                return decoded.partition(":")[2] == token
            return False

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _serve(self) -> None:
            body = self._body()
            if not self._authorized():
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="shipway tests"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path, _, query = self.path.partition("?")
            environment = {
                "PATH": os.environ.get("PATH", ""),
                "GIT_PROJECT_ROOT": str(root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "REQUEST_METHOD": self.command,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_USER": "tests",
                "REMOTE_ADDR": HOST,
            }
            for header in ("Content-Encoding", "Git-Protocol"):
                if self.headers.get(header):
                    key = "HTTP_" + header.upper().replace("-", "_")
                    environment[key] = self.headers[header]
            result = subprocess.run(
                ["git", "http-backend"], input=body, env=environment, capture_output=True
            )
            head, _, payload = result.stdout.partition(b"\r\n\r\n")
            status = 200
            headers = []
            for line in head.decode("latin-1").splitlines():
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.strip().split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer((HOST, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture(scope="session", name="servers")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitServers]:
    """Both git servers for the whole session (import this name into a conftest)."""
    if shutil.which("git") is None:
        _ci.unavailable("the git command is not installed (apt-get install git)", tests="git")
    root = tmp_path_factory.mktemp("git-repositories")
    logs = tmp_path_factory.mktemp("git-logs")
    with git_servers(root, logs, TOKEN) as started:
        yield started
