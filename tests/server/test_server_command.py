"""``shipway server start``: refused without a token off loopback; a real server
process answers and stops on Ctrl-C (SIGINT)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from _cli import shipway_main


def test_public_address_without_token_is_refused(
    shipway_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHIPWAY_SERVER_TOKEN", raising=False)
    result = CliRunner().invoke(shipway_main, ["server", "start", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "refusing to serve the store on 0.0.0.0 without a token" in result.output
    assert "Traceback" not in result.output
    assert not shipway_home.exists()  # refused before the store was opened


def test_short_token_is_refused(shipway_home: Path, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("short\n")
    result = CliRunner().invoke(
        shipway_main, ["server", "start", "--host", "0.0.0.0", "--token-file", str(token_file)]
    )
    assert result.exit_code == 2
    assert "at least 32" in result.output


_MAIN = "from shipway.cli import main; main()"  # `shipway`, in this interpreter


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_server_process_answers_and_stops_on_sigint(shipway_home: Path) -> None:
    port = _free_port()
    env = {**os.environ, "SHIPWAY_HOME": str(shipway_home)}
    process = subprocess.Popen(
        [sys.executable, "-c", _MAIN, "server", "start", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()[0]
                assert time.monotonic() < deadline, "the server did not answer in 30 s"
                time.sleep(0.1)
        assert response.status_code == 200
        assert response.json()["status"] == "ok"
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert "shipway server stopped." in output


def test_without_the_extra_it_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name == "uvicorn" else real_find_spec(name)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    result = CliRunner().invoke(shipway_main, ["server", "start"])
    assert result.exit_code == 2
    assert "the server needs uvicorn, which is not installed" in result.output
    assert "pip install 'shipway[server]'" in result.output


def test_an_unreachable_store_is_one_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPWAY_DATABASE_URL", f"postgresql://u:pw@127.0.0.1:{_free_port()}/x")
    result = CliRunner().invoke(shipway_main, ["server", "start", "--port", str(_free_port())])
    assert result.exit_code == 3, result.output
    assert "cannot be reached" in result.output and "pw" not in result.output.replace("pwd", "")
    assert "Traceback" not in result.output


def test_help_does_not_load_the_server() -> None:
    code = (
        "import sys\n"
        "from shipway.cli import main\n"
        "try:\n    main(['server', 'start', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('starlette', 'uvicorn', 'sqlalchemy') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip().endswith("[]"), result.stdout + result.stderr
