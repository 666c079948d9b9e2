"""Start and stop a real Kubernetes control plane on loopback, for the tests.

    python tools/kube-stack/stack.py start  --dir DIR   # prints the admin kubeconfig path
    python tools/kube-stack/stack.py status --dir DIR   # exit 1, with log tails, if one died
    python tools/kube-stack/stack.py stop   --dir DIR
    (start --owner PID: the stack stops by itself when process PID ends)

What runs (each in its own process group, state and logs in DIR): etcd (Debian's
etcd-server), kube-apiserver and kube-controller-manager (built by build.sh into
``${SHIPWAY_KUBE_CACHE:-/var/cache/shipway-k8s}/bin``), and the test kubelet
(tools/kube-stack/kubelet), which also acts as the scheduler and runs containers with the
local Docker engine. All ports are picked free at start time, on 127.0.0.1 only.

DIR receives ``admin.kubeconfig`` (client cert in ``system:masters``) and
``limited.kubeconfig`` (user ``shipway-limited``, no RBAC binding: requests get 403); both
use the context ``shipway-test``. ``start`` returns once /readyz answers, the node is Ready
and the ``default`` service account of ``default`` exists.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CONTEXT = "shipway-test"
NODE_NAME = "shipway-node"
FEATURE_GATES = "TTLAfterFinished=true"  # alpha in 1.20: the plugin's finished_job_ttl needs it
CONTROLLERS = (
    "job,garbagecollector,namespace,serviceaccount,serviceaccount-token,"
    "ttl-after-finished,resourcequota"
)
ADMISSION = "NamespaceLifecycle,LimitRanger,ServiceAccount,ResourceQuota,DefaultStorageClass"
ORDER = ("etcd", "kube-apiserver", "kube-controller-manager", "kubelet")


class StackError(Exception):
    """Something the user can act on; printed without a traceback."""


def cache_bin() -> Path:
    return Path(os.environ.get("SHIPWAY_KUBE_CACHE", "/var/cache/shipway-k8s")) / "bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- certificates --------------------------------------------------------------------------------


def _openssl(*args: str) -> None:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise StackError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def _key(path: Path) -> None:
    _openssl(
        "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path)
    )


def _signed_cert(pki: Path, name: str, subject: str, extensions: str) -> None:
    """``name.key`` + ``name.crt`` signed by the stack's CA."""
    _key(pki / f"{name}.key")
    _openssl(
        "req",
        "-new",
        "-key",
        str(pki / f"{name}.key"),
        "-subj",
        subject,
        "-out",
        str(pki / f"{name}.csr"),
    )
    ext = pki / f"{name}.ext"
    ext.write_text(extensions, encoding="utf-8")
    _openssl(
        "x509",
        "-req",
        "-in",
        str(pki / f"{name}.csr"),
        "-CA",
        str(pki / "ca.crt"),
        "-CAkey",
        str(pki / "ca.key"),
        "-CAcreateserial",
        "-days",
        "3650",
        "-sha256",
        "-extfile",
        str(ext),
        "-out",
        str(pki / f"{name}.crt"),
    )
    (pki / f"{name}.csr").unlink()
    ext.unlink()


CLIENT = "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n"
SERVER = "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"


def make_pki(pki: Path) -> None:
    """A CA, serving and client certificates, and the service-account signing key."""
    pki.mkdir(parents=True, exist_ok=True)
    _key(pki / "ca.key")
    _openssl(
        "req",
        "-x509",
        "-new",
        "-key",
        str(pki / "ca.key"),
        "-subj",
        "/CN=shipway-test-ca",
        "-days",
        "3650",
        "-sha256",
        "-out",
        str(pki / "ca.crt"),
    )
    names = "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
    _signed_cert(
        pki,
        "apiserver",
        "/CN=kube-apiserver",
        SERVER + f"subjectAltName={names},IP:127.0.0.1,IP:10.96.0.1\n",
    )
    _signed_cert(
        pki, "kubelet", f"/CN={NODE_NAME}", SERVER + "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
    )
    _signed_cert(pki, "admin", "/O=system:masters/CN=shipway-admin", CLIENT)
    _signed_cert(pki, "apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver", CLIENT)
    _signed_cert(pki, "limited", "/CN=shipway-limited", CLIENT)
    _openssl(
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        str(pki / "sa.key"),
    )
    _openssl("pkey", "-in", str(pki / "sa.key"), "-pubout", "-out", str(pki / "sa.pub"))


def write_kubeconfig(path: Path, server: str, pki: Path, user: str, cert: str) -> None:
    """A kubeconfig (JSON is YAML) with absolute paths to the stack's files."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CONTEXT,
                "cluster": {"server": server, "certificate-authority": str(pki / "ca.crt")},
            }
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate": str(pki / f"{cert}.crt"),
                    "client-key": str(pki / f"{cert}.key"),
                },
            }
        ],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": user}}],
        "current-context": CONTEXT,
    }
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


# -- processes -----------------------------------------------------------------------------------


def _state_file(directory: Path) -> Path:
    return directory / "stack.json"


def _read_state(directory: Path) -> dict[str, Any]:
    with contextlib.suppress(FileNotFoundError):
        loaded: dict[str, Any] = json.loads(_state_file(directory).read_text(encoding="utf-8"))
        return loaded
    return {"processes": {}}


def _write_state(directory: Path, state: dict[str, Any]) -> None:
    temporary = _state_file(directory).with_suffix(".tmp")
    temporary.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    temporary.replace(_state_file(directory))


def _spawn(directory: Path, state: dict[str, Any], name: str, command: list[str]) -> None:
    """Start ``command`` in a new process group (so stop can end it and its children)."""
    log = (directory / "logs" / f"{name}.log").open("ab")
    process = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        cwd=directory,
    )
    log.close()
    state["processes"][name] = {"pid": process.pid, "command": command[0]}
    _write_state(directory, state)


def _alive(pid: int, command: str) -> bool:
    """``pid`` still runs the program we started (not a recycled pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
        status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return status != "Z" and Path(cmdline).name == Path(command).name


def log_tail(directory: Path, name: str, lines: int = 25) -> str:
    """The last ``lines`` lines of a component's log (what it said as it died)."""
    log = directory / "logs" / f"{name}.log"
    try:
        text = log.read_text(errors="replace")
    except OSError as exc:
        return f"(no log: {exc.strerror})"
    return "\n".join(text.splitlines()[-lines:])


def _check_running(directory: Path, state: dict[str, Any], name: str) -> None:
    info = state["processes"][name]
    if _alive(info["pid"], info["command"]):
        return
    time.sleep(0.5)  # asked twice: no false alarm while the process starts
    if not _alive(info["pid"], info["command"]):
        log = directory / "logs" / f"{name}.log"
        raise StackError(
            f"{name} exited during start; last lines of {log}:\n{log_tail(directory, name)}"
        )


def dead_components(directory: Path) -> list[str]:
    """One message per component of a started stack that is no longer running (the API
    server crashed, etcd was killed...), each with the end of its log. Empty when all run,
    or when no stack was started in ``directory``."""
    directory = directory.resolve()
    state = _read_state(directory)
    problems = []
    for name in ORDER:
        info = state["processes"].get(name)
        if info is None or _alive(info["pid"], info["command"]):
            continue
        log = directory / "logs" / f"{name}.log"
        problems.append(
            f"{name} (pid {info['pid']}) is not running any more; last lines of {log}:\n"
            f"{log_tail(directory, name)}"
        )
    return problems


def _wait(what: str, check: Any, directory: Path, state: dict[str, Any], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        for name in state["processes"]:
            _check_running(directory, state, name)
        try:
            if check():
                return
        except Exception as exc:
            last_error = f" (last error: {exc})"
        time.sleep(0.25)
    raise StackError(f"timed out after {timeout:.0f} s waiting for {what}{last_error}")


# -- readiness -----------------------------------------------------------------------------------


def _https_get(url: str, pki: Path) -> tuple[int, bytes]:
    context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
    try:
        with urllib.request.urlopen(url, context=context, timeout=5) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def _ready(server: str, pki: Path) -> bool:
    return _https_get(f"{server}/readyz", pki)[0] == 200


def _node_ready(server: str, pki: Path) -> bool:
    status, body = _https_get(f"{server}/api/v1/nodes/{NODE_NAME}", pki)
    if status != 200:
        return False
    conditions = json.loads(body).get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _default_service_account(server: str, pki: Path) -> bool:
    status, body = _https_get(f"{server}/api/v1/namespaces/default/serviceaccounts/default", pki)
    return status == 200 and bool(json.loads(body).get("secrets"))  # 1.20 needs its token


# -- commands ------------------------------------------------------------------------------------


def start(directory: Path, owner: int | None = None, max_pods: int = 20) -> Path:
    directory = directory.resolve()
    state = _read_state(directory)
    if any(_alive(p["pid"], p["command"]) for p in state["processes"].values()):
        raise StackError(f"a stack already runs in {directory}: stop it first")
    binaries = cache_bin()
    for binary in ("kube-apiserver", "kube-controller-manager"):
        if not (binaries / binary).is_file():
            raise StackError(f"{binaries / binary} is missing: run tools/kube-stack/build.sh")
    for module in ("kubernetes", "docker"):
        if importlib.util.find_spec(module) is None:
            raise StackError(
                f"the test kubelet needs the {module!r} package, missing from {sys.executable}: "
                "run this script with the dev venv's python (.venv/bin/python)"
            )
    etcd = shutil.which("etcd") or "/usr/bin/etcd"
    if not Path(etcd).exists():
        raise StackError("etcd is missing: apt-get install etcd-server (build.sh does)")

    started = time.monotonic()
    for stale in ("pki", "etcd", "logs"):
        shutil.rmtree(directory / stale, ignore_errors=True)
    (directory / "logs").mkdir(parents=True)
    pki = directory / "pki"
    make_pki(pki)
    stack_id = uuid.uuid4().hex[:12]
    state = {"processes": {}, "stack_id": stack_id}

    etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
    kubelet_port = free_port()
    etcd_url = f"http://127.0.0.1:{etcd_port}"
    peer_url = f"http://127.0.0.1:{peer_port}"
    server = f"https://127.0.0.1:{api_port}"
    state.update(server=server, kubelet_port=kubelet_port)
    _spawn(
        directory,
        state,
        "etcd",
        [
            etcd,
            "--name",
            "shipway",
            "--data-dir",
            str(directory / "etcd"),
            "--listen-client-urls",
            etcd_url,
            "--advertise-client-urls",
            etcd_url,
            "--listen-peer-urls",
            peer_url,
            "--initial-advertise-peer-urls",
            peer_url,
            "--initial-cluster",
            f"shipway={peer_url}",
            "--log-level",
            "warn",
        ],
    )
    _spawn(
        directory,
        state,
        "kube-apiserver",
        [
            str(binaries / "kube-apiserver"),
            f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1",
            f"--secure-port={api_port}",
            "--insecure-port=0",
            "--advertise-address=127.0.0.1",
            f"--cert-dir={pki}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--service-cluster-ip-range=10.96.0.0/24",
            "--authorization-mode=Node,RBAC",
            f"--enable-admission-plugins={ADMISSION}",
            "--kubelet-preferred-address-types=InternalIP",
            f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
            f"--feature-gates={FEATURE_GATES}",
            "--endpoint-reconciler-type=none",  # loopback may not be a Service endpoint
            "--profiling=false",
            "--v=1",
        ],
    )
    write_kubeconfig(directory / "admin.kubeconfig", server, pki, "shipway-admin", "admin")
    write_kubeconfig(directory / "limited.kubeconfig", server, pki, "shipway-limited", "limited")
    _wait("the API server's /readyz", lambda: _ready(server, pki), directory, state, 120)

    _spawn(
        directory,
        state,
        "kube-controller-manager",
        [
            str(binaries / "kube-controller-manager"),
            f"--kubeconfig={directory / 'admin.kubeconfig'}",
            "--bind-address=127.0.0.1",
            "--port=0",
            "--secure-port=0",
            f"--controllers={CONTROLLERS}",
            f"--service-account-private-key-file={pki / 'sa.key'}",
            f"--root-ca-file={pki / 'ca.crt'}",
            f"--feature-gates={FEATURE_GATES}",
            # The default 20 requests/s (burst 30) throttle the Job controller to about 4
            # Jobs/s; a load test of a thousand Jobs is about the client, not this limit.
            "--kube-api-qps=500",
            "--kube-api-burst=1000",
            "--leader-elect=false",
            "--v=1",
        ],
    )
    _spawn(
        directory,
        state,
        "kubelet",
        [
            sys.executable,
            str(HERE / "kubelet"),
            "--kubeconfig",
            str(directory / "admin.kubeconfig"),
            "--node-name",
            NODE_NAME,
            "--port",
            str(kubelet_port),
            "--cert",
            str(pki / "kubelet.crt"),
            "--key",
            str(pki / "kubelet.key"),
            "--stack-id",
            stack_id,
            "--max-pods",
            str(max_pods),
        ],
    )
    _wait("the node to be Ready", lambda: _node_ready(server, pki), directory, state, 60)
    _wait(
        "the default service account (kube-controller-manager)",
        lambda: _default_service_account(server, pki),
        directory,
        state,
        60,
    )
    state["start_seconds"] = round(time.monotonic() - started, 2)
    _write_state(directory, state)
    if owner is not None:
        _spawn(
            directory,
            state,
            "watchdog",
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "watch",
                "--dir",
                str(directory),
                "--owner",
                str(owner),
            ],
        )
    return directory / "admin.kubeconfig"


def _process_exists(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return status != "Z"


def watch(directory: Path, owner: int) -> None:
    """Stop the stack when ``owner`` (a test session) is gone, so one killed with SIGKILL
    leaves nothing running on a shared machine."""
    while _process_exists(owner):
        time.sleep(2)
    print(f"kube-stack: owner {owner} is gone: stopping the stack", file=sys.stderr)
    stop(directory)


def _stop_process(name: str, info: dict[str, Any], grace: float) -> None:
    pid = int(info["pid"])
    if not _alive(pid, info["command"]):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _alive(pid, info["command"]):
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)  # the group: children too
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _remove_containers(stack_id: str) -> None:
    """Safety net: the kubelet removes its containers on SIGTERM; remove what is left."""
    with contextlib.suppress(Exception):
        import docker

        client = docker.from_env(timeout=30)
        for container in client.containers.list(
            all=True, filters={"label": f"io.shipway.kube-stack={stack_id}"}
        ):
            container.remove(force=True)


def stop(directory: Path) -> None:
    directory = directory.resolve()
    state = _read_state(directory)
    processes: dict[str, Any] = state["processes"]
    for name in reversed(ORDER):
        if name in processes:
            _stop_process(name, processes[name], grace=15 if name == "kubelet" else 10)
    if state.get("stack_id"):
        _remove_containers(state["stack_id"])
    watchdog = processes.get("watchdog")
    if watchdog and watchdog["pid"] != os.getpid():
        _stop_process("watchdog", watchdog, grace=5)
    state["processes"] = {}
    if directory.exists():
        _write_state(directory, state)


def status(directory: Path) -> int:
    """Each component's state; exit 1 when one is not running, with what it logged last."""
    state = _read_state(directory.resolve())
    running = 0
    for name in ORDER:
        info = state["processes"].get(name)
        alive = bool(info) and _alive(info["pid"], info["command"])
        running += alive
        print(f"{name:24} {'running, pid ' + str(info['pid']) if alive else 'stopped'}")
    if state.get("server"):
        print(f"{'server':24} {state['server']}")
    for problem in dead_components(directory):
        print(f"kube-stack: {problem}", file=sys.stderr)
    return 0 if running == len(ORDER) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("command", choices=("start", "stop", "status", "watch"))
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "shipway-kube")
    parser.add_argument(
        "--owner", type=int, help="start: stop the stack by itself when this process ends"
    )
    parser.add_argument(
        "--max-pods", type=int, default=20, help="start: pods the node holds at once (20)"
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            args.dir.mkdir(parents=True, exist_ok=True)
            try:
                kubeconfig = start(args.dir, owner=args.owner, max_pods=args.max_pods)
            except BaseException:
                stop(args.dir)
                raise
            seconds = _read_state(args.dir.resolve()).get("start_seconds")
            print(f"kube-stack started in {seconds} s; KUBECONFIG={kubeconfig}", file=sys.stderr)
            print(kubeconfig)
            return 0
        if args.command == "stop":
            stop(args.dir)
            return 0
        if args.command == "watch":
            watch(args.dir, args.owner)
            return 0
        return status(args.dir)
    except StackError as exc:
        print(f"kube-stack: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
