"""Screenshots of the web UI for the docs (docs/images/ui-*.png).

Run from the repository root with the development environment (playwright and Debian's
chromium, as for the browser tests):

    .venv/bin/python tools/screenshots.py [--out docs/images] [--chromium /usr/bin/chromium]

It makes a throwaway SHIPWAY_HOME with a small project, stores a day of finished runs
(demo history, so that the dashboard's chart has something to show), starts a real
`shipway agent start` and `shipway server start` (with a token, to show the login page),
then drives the pages the way a person would: signs in, starts a run from the Run form,
waits for it to complete, and saves each page. Every process it starts, it stops.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect, sync_playwright

from shipway.schedules import CronSchedule
from shipway.states import StateType
from shipway.store import DeploymentSpec, StateChange, Store, open_store

SHIPWAY = [sys.executable, "-c", "from shipway.cli import main; main()"]

FLOWS = {
    "etl": '''
        import time
        from shipway import flow

        @flow
        def load_orders(day: str = "today", batch_size: int = 500, dry_run: bool = False) -> None:
            """Load one day of orders into the warehouse."""
            for step in ("extract", "validate", "transform", "load"):
                print(f"{step:>9}: {day} in batches of {batch_size}", flush=True)
                time.sleep(0.4)
            print("loaded 12,480 orders" + (" (dry run)" if dry_run else ""), flush=True)
    ''',
    "report": """
        import time
        from shipway import flow

        @flow
        def weekly_report(team: str, weeks: int = 1) -> None:
            print(f"report for {team}, last {weeks} week(s)", flush=True)
            time.sleep(120)
    """,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    options = parser.parse_args()
    options.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="shipway-screenshots-") as tmp:
        root = Path(tmp)
        token = secrets.token_urlsafe(32)
        env = {
            **os.environ,
            "SHIPWAY_HOME": str(root / "home"),
            "SHIPWAY_SERVER_TOKEN": token,
        }
        env.pop("SHIPWAY_DATABASE_URL", None)
        os.environ.update(env)  # the store this script opens is theirs
        project = _write_project(root / "project")
        with open_store() as store:
            _apply(store, project)
            _seed_history(store)
        port = _free_port()
        agent = [*SHIPWAY, "agent", "start", "--poll-interval", "0.3"]
        server = [*SHIPWAY, "server", "start", "--port", str(port)]
        with _started(agent, env, root), _started(server, env, root):
            _wait_for_port(port)
            _shoot(f"http://127.0.0.1:{port}", token, options.out, options.chromium)
    for image in sorted(options.out.glob("ui-*.png")):
        print(image)


def _write_project(directory: Path) -> Path:
    (directory / "flows").mkdir(parents=True)
    for name, source in FLOWS.items():
        (directory / "flows" / f"{name}.py").write_text(textwrap.dedent(source).lstrip())
    return directory


def _apply(store: Store, project: Path) -> None:
    def spec(name: str, entrypoint: str, **extra: Any) -> DeploymentSpec:
        fields = {"parameters": {}, "infrastructure": {"type": "process"}, **extra}
        flow = entrypoint.rsplit(":", 1)[1]
        return DeploymentSpec(
            name=name, entrypoint=entrypoint, flow_name=flow, working_dir=str(project), **fields
        )

    store.apply_deployments(
        [
            spec(
                "orders-nightly",
                "flows/etl.py:load_orders",
                description="Load yesterday's orders into the warehouse.",
                schedule=CronSchedule("0 2 * * *", "Europe/Paris"),
                infrastructure={
                    "type": "process",
                    "env": {
                        "WAREHOUSE_URL": "postgresql://etl@warehouse/orders",
                        "WAREHOUSE_PASSWORD": "not-shown-anywhere",
                    },
                },
                tags=("etl", "orders"),
                retries=2,
                retry_delay_seconds=60,
            ),
            spec("weekly-report", "flows/report.py:weekly_report", work_queue="reports"),
        ]
    )
    store.set_work_queue_limit("reports", 2)


def _seed_history(store: Store) -> None:
    """A day of finished runs (demo data: their states are written, not run)."""
    rng = random.Random(11)
    now = datetime.now(timezone.utc)
    for hours_ago in range(23, 0, -1):
        for _ in range(rng.randint(2, 9)):
            due = now - timedelta(hours=hours_ago, minutes=rng.randint(0, 59))
            name = "orders-nightly" if rng.random() < 0.7 else "weekly-report"
            run = store.create_flow_run(name, scheduled_time=due)
            store.set_state(run.id, StateChange(StateType.PENDING))
            store.set_state(run.id, StateChange(StateType.RUNNING, identifier=f"demo:{run.id[:6]}"))
            roll = rng.random()
            final, code = (
                (StateType.COMPLETED, 0) if roll < 0.86
                else (StateType.FAILED, 1) if roll < 0.96
                else (StateType.CRASHED, -9)
            )  # fmt: skip
            store.set_state(run.id, StateChange(final, exit_code=code))


def _shoot(base: str, token: str, out: Path, chromium: str) -> None:
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=args)
        page = browser.new_page(viewport={"width": 1280, "height": 860}, device_scale_factor=1)
        page.set_default_timeout(60_000)
        page.goto(base + "/")
        page.get_by_label("Token").fill("·" * 12)
        _save(page, out, "login")
        page.get_by_label("Token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        # A long run, so that one shows as Running.
        page.goto(base + "/deployments/weekly-report")
        page.locator("#param-team").fill("data-platform")
        page.get_by_role("button", name="Run").click()
        expect(page.locator("#run-state")).to_have_text("Running")
        # A run from the form, watched until it completes.
        page.goto(base + "/deployments/orders-nightly")
        page.locator("#param-day").fill("2026-12-05")
        _save(page, out, "deployment")
        page.get_by_role("button", name="Run").click()
        expect(page.locator("#run-state")).to_have_text("Completed")
        _save(page, out, "run")
        page.goto(base + "/flow-runs")
        _save(page, out, "flow-runs")
        page.goto(base + "/")
        _save(page, out, "dashboard")
        browser.close()


def _save(page: Page, out: Path, name: str) -> None:
    page.screenshot(path=str(out / f"ui-{name}.png"), full_page=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.2)
    raise SystemExit(f"the server did not start on port {port}")


@contextlib.contextmanager
def _started(argv: list[str], env: dict[str, str], root: Path) -> Iterator[None]:
    log = (root / f"{argv[3]}.log").open("wb")
    process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


if __name__ == "__main__":
    main()
