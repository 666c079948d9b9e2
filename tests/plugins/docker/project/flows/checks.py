"""Flows the Docker plugin tests run inside the test runtime image.

Baked into the image (beside examples/) by the ``runtime_image`` fixture: a change here
rebuilds it. Each prints what the test on the host checks.
"""

import fcntl
import json
import os
import signal
import socket
import struct
import sys
import time

from shipway import flow


@flow
def echo(message: str = "hi", number: int = 0, env_names: list[str] | None = None):
    """Print the parameters and some environment variables, and one line on stderr."""
    print(f"message={message!r} number={number}", flush=True)
    for name in env_names or []:
        print(f"env {name}={os.environ.get(name)!r}", flush=True)
    print(f"cwd={os.getcwd()}", flush=True)
    print("this goes to stderr", file=sys.stderr, flush=True)


@flow
def fail(message: str = "boom"):
    """Raise, so the engine prints a traceback and exits 1."""
    print("about to fail", flush=True)
    raise ValueError(message)


@flow
def sleeper(seconds: float = 120):
    """Sleep until stopped; the finally block shows a graceful stop ran the cleanup."""
    try:  # "started" inside: a SIGTERM right after it still runs the cleanup
        print("started", flush=True)
        time.sleep(seconds)
    finally:
        print("cleanup", flush=True)


@flow
def stubborn(seconds: float = 120):
    """Ignore SIGTERM: only SIGKILL (after the grace period) ends it."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        print("started", flush=True)
        time.sleep(seconds)
    finally:
        print("cleanup", flush=True)


@flow
def hog(step_mb: int = 4):
    """Allocate memory (really touched) until the kernel kills the container."""
    held = []
    while True:
        held.append(bytearray(b"x" * (step_mb * 1024 * 1024)))
        print(f"holding {len(held) * step_mb} MB", flush=True)


@flow
def write_file(path: str, text: str):
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
    print(f"wrote {path}", flush=True)


@flow
def read_file(path: str):
    with open(path, encoding="utf-8") as file:
        print(f"read {file.read()!r}", flush=True)


@flow
def call_host(port: int, host: str = "host.docker.internal"):
    """Send a line to a TCP server on the Docker host and print its answer."""
    with socket.create_connection((host, port), timeout=30) as connection:
        connection.sendall(b"ping from the container\n")
        answer = connection.makefile("rb").readline()
    print(f"answer {answer.decode().strip()!r}", flush=True)


@flow
def addresses():
    """Print the IPv4 address of every network interface but loopback, as JSON."""
    found = {}
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _, name in socket.if_nameindex():
        if name == "lo":
            continue
        try:  # SIOCGIFADDR
            packed = fcntl.ioctl(probe.fileno(), 0x8915, struct.pack("256s", name[:15].encode()))
        except OSError:  # no IPv4 address on it
            continue
        found[name] = socket.inet_ntoa(packed[20:24])
    print(f"addresses {json.dumps(found)}", flush=True)
