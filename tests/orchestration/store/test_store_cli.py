"""The store commands, run in this process through shipway.cli.main (its error handling
and exit statuses included): deployment apply/ls/run, flow-run ls/inspect/logs/cancel,
work-queue ls/set-limit."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from _cli import shipway_main as _shipway_main
from _postgres import PostgresServer
from shipway import liveness
from shipway.states import StateType
from shipway.store import LogLine, Retry, StateChange, Store, open_store

S = StateType

PROJECT_YAML = """\
deployments:
  - name: hello
    flow: flows/hello.py:hello
    infrastructure: process
    overrides: {env: {API_TOKEN: s3cret}}
    tags: [demo]
    version: "1.0"
    retries: 2
    retry_delay_seconds: 5
    schedule: {cron: "0 9 * * *", timezone: Europe/Paris}
  - name: quick
    flow: flows/hello.py:hello
    work_queue: fast
    schedule: {interval: 1h30m}
"""


@dataclasses.dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


Run = Callable[..., Result]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "hello.py").write_text(
        "from shipway import flow\n\n@flow\ndef hello(who: str = 'world') -> None:\n"
        "    print(f'hello {who}')\n"
    )
    (tmp_path / "shipway.yaml").write_text(PROJECT_YAML)
    return tmp_path


@pytest.fixture
def cli_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli-store' / 'shipway.db'}"


def _runner(project: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> Run:
    from click.testing import CliRunner

    def run(*args: str, check: bool = True) -> Result:
        with monkeypatch.context() as patch:
            patch.chdir(project)
            patch.setenv("SHIPWAY_DATABASE_URL", url)
            patch.setenv("SHIPWAY_HOME", str(project / "home"))
            patch.delenv("SHIPWAY_DEBUG", raising=False)
            outcome = CliRunner().invoke(_shipway_main, list(args))
        result = Result(outcome.exit_code, outcome.stdout, outcome.stderr)
        if check:
            assert result.returncode == 0, result.stderr
        return result

    return run


@pytest.fixture
def shipway(project: Path, cli_url: str, monkeypatch: pytest.MonkeyPatch) -> Run:
    return _runner(project, cli_url, monkeypatch)


@pytest.fixture
def cli_store(cli_url: str) -> Iterator[Store]:
    with open_store(cli_url) as store:
        yield store


def _one_error(result: Result, text: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("Error: ")
    assert text in result.stderr
    assert "Traceback" not in result.stderr


def test_apply_upserts_with_resolved_infrastructure(
    project: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipway = _runner(project, store_url, monkeypatch)
    first = shipway("deployment", "apply")
    assert "created   hello (work queue 'default', cron 0 9 * * * (Europe/Paris))" in first.stdout
    assert "created   quick (work queue 'fast', every 1:30:00)" in first.stdout
    assert shipway("deployment", "apply", "quick").stdout.startswith("unchanged quick")
    (project / "shipway.yaml").write_text(PROJECT_YAML.replace('"1.0"', '"1.1"'))
    again = shipway("deployment", "apply").stdout
    assert "updated   hello" in again and "unchanged quick" in again
    with open_store(store_url) as store:
        hello = store.get_deployment("hello")
    assert hello.infrastructure["type"] == "process"
    assert hello.infrastructure["env"] == {"API_TOKEN": "s3cret"}  # the agent needs it
    assert hello.working_dir == str(project.resolve())
    assert (hello.retries, hello.retry_delay_seconds, hello.version) == (2, 5.0, "1.1")
    listed = json.loads(shipway("deployment", "ls", "--json").stdout)
    assert [(d["name"], d["work_queue"]) for d in listed] == [
        ("hello", "default"),
        ("quick", "fast"),
    ]
    assert "s3cret" not in shipway("deployment", "ls").stdout


def test_apply_mistakes_are_one_message(shipway: Run, project: Path) -> None:
    _one_error(shipway("deployment", "apply", "nope", check=False), "no deployment named 'nope'")
    (project / "shipway.yaml").write_text(
        PROJECT_YAML.replace("timezone: Europe/Paris", "timezone: Mars/Olympus")
    )
    _one_error(shipway("deployment", "apply", check=False), "unknown time zone 'Mars/Olympus'")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("flows/hello.py:hello", "flows/gone.py:hello"), "flows/gone.py"),
        (("flows/hello.py:hello", "flows/hello.py:goodbye"), "'goodbye' not found"),
        (
            ('version: "1.0"', 'version: "1.0"\n    parameters: {whom: x}'),
            "unknown parameter 'whom'",
        ),
    ],
    ids=["missing-file", "missing-function", "unknown-parameter"],
)
def test_apply_checks_the_flow_before_storing_anything(
    shipway: Run, project: Path, cli_store: Store, change: tuple[str, str], message: str
) -> None:
    (project / "shipway.yaml").write_text(PROJECT_YAML.replace(*change, 1))
    result = shipway("deployment", "apply", check=False)
    _one_error(result, message)
    assert result.stderr.startswith("Error: shipway.yaml:2: deployment 'hello'")
    assert ("--no-validate" in result.stderr) is ("parameter" not in message)
    assert cli_store.list_deployments() == []


def test_apply_no_validate_stores_a_flow_only_the_agents_have(
    shipway: Run, project: Path, cli_store: Store
) -> None:
    (project / "shipway.yaml").write_text(
        PROJECT_YAML.replace("flows/hello.py:hello", "flows/on_agents.py:etl", 1)
    )
    shipway("deployment", "apply", "--no-validate")
    assert cli_store.get_deployment("hello").entrypoint == "flows/on_agents.py:etl"


def test_apply_accepts_defaults_that_leave_a_required_parameter_to_each_run(
    shipway: Run, project: Path, cli_store: Store
) -> None:
    (project / "flows" / "hello.py").write_text(
        "from shipway import flow\n\n@flow\ndef hello(who: str, times: int = 1) -> None:\n"
        "    print(f'hello {who}' * times)\n"
    )
    shipway("deployment", "apply")
    assert {d.name for d in cli_store.list_deployments()} == {"hello", "quick"}
    (project / "shipway.yaml").write_text(
        PROJECT_YAML.replace('version: "1.0"', 'version: "1.0"\n    parameters: {times: many}')
    )
    _one_error(shipway("deployment", "apply", check=False), "parameter 'times'")


def test_apply_refuses_a_name_too_long_for_the_store_and_applies_none(
    project: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15, item 3: the third deployment's name is longer than the store keeps."""
    shipway = _runner(project, store_url, monkeypatch)
    long_name = "x" * 201
    (project / "shipway.yaml").write_text(
        PROJECT_YAML + f"  - name: {long_name}\n    flow: flows/hello.py:hello\n"
    )
    result = shipway("deployment", "apply", check=False)
    _one_error(result, "deployments[2].name: the deployment name is 201 characters long")
    assert "shipway.yaml:" in result.stderr and "at most 200" in result.stderr
    with open_store(store_url) as store:
        assert store.list_deployments() == []


def test_ls_reads_the_store_and_with_f_the_file(shipway: Run, cli_store: Store) -> None:
    assert "No deployments in the store" in shipway("deployment", "ls").stdout
    from_file = json.loads(shipway("deployment", "ls", "-f", "shipway.yaml", "--json").stdout)
    assert [d["name"] for d in from_file] == ["hello", "quick"]
    assert from_file[1]["schedule"] == "every 1:30:00"


def test_ls_describes_a_schedule_alike_from_the_file_and_the_store(shipway: Run) -> None:
    shipway("deployment", "apply")
    from_file = json.loads(shipway("deployment", "ls", "-f", "shipway.yaml", "--json").stdout)
    from_store = json.loads(shipway("deployment", "ls", "--json").stdout)
    described = {d["name"]: d["schedule"] for d in from_file}
    assert described == {d["name"]: d["schedule"] for d in from_store}
    assert any(text and text.startswith("cron ") for text in described.values())


READ_ONLY_COMMANDS = [
    ("deployment", "ls"),
    ("flow-run", "ls"),
    ("flow-run", "inspect", "abcd1234"),
    ("flow-run", "logs", "abcd1234"),
    ("work-queue", "ls"),
    ("agent", "ls"),
]


def test_read_only_commands_never_create_a_store(
    project: Path,
    empty_store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 15, item 6: `deployment ls` with a mistyped SQLite path created its folders
    and an empty store, and said "No deployments"; on PostgreSQL, the tables."""
    import sqlalchemy as sa

    from shipway.store import database_url

    if empty_store_url.startswith("sqlite"):
        missing = tmp_path / "typo" / "home" / "shipway.db"
        url, expected = f"sqlite:///{missing}", f"there is no store at {missing}"
    else:  # a database that exists, without a store in it
        url, expected = empty_store_url, "there is no shipway store in"
    shipway = _runner(project, url, monkeypatch)
    for command in READ_ONLY_COMMANDS:
        result = shipway(*command, check=False)
        _one_error(result, expected)
        assert "deployment apply` creates the store" in result.stderr, command
    if url.startswith("sqlite"):
        assert not (tmp_path / "typo").exists()
        return
    engine = sa.create_engine(database_url(url))
    try:
        with engine.connect() as connection:
            assert sa.inspect(connection).get_table_names() == []
    finally:
        engine.dispose()


def test_a_port_that_is_not_a_number_is_a_mistake(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15, item 6: reported as a bug in shipway (exit 1, a ValueError)."""
    shipway = _runner(project, "postgresql://shipway:hunter2@db.internal:54x2/runs", monkeypatch)
    for command in (("flow-run", "ls"), ("deployment", "apply")):
        result = shipway(*command, check=False)
        _one_error(result, "is not a database URL: its port is not a number")
        assert "hunter2" not in result.stderr and "shipway:***@db.internal" in result.stderr
    result = _runner(project, "postgresql://db.internal:99999/runs", monkeypatch)(
        "flow-run", "ls", check=False
    )
    _one_error(result, "its port 99999 is not between 1 and 65535")


def test_run_creates_a_scheduled_run(shipway: Run, cli_store: Store) -> None:
    shipway("deployment", "apply")
    before = datetime.now(timezone.utc)
    result = shipway(
        "deployment", "run", "hello", "-p", "who=you", "--override", "env.X=1", "--at", "+10m"
    )
    run_id = result.stdout.strip()
    run = cli_store.get_flow_run(run_id)
    assert run.state is S.SCHEDULED
    assert run.parameters == {"who": "you"}
    assert run.overrides == {"env": {"X": "1"}}
    assert before + timedelta(minutes=10) <= run.scheduled_time
    assert run.scheduled_time <= datetime.now(timezone.utc) + timedelta(minutes=10)
    at = shipway("deployment", "run", "hello", "--at", "2030-01-02T03:04:05Z").stdout.strip()
    assert cli_store.get_flow_run(at).scheduled_time == datetime(
        2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc
    )


def test_run_warns_when_no_agent_polls_the_queue(shipway: Run, cli_store: Store) -> None:
    shipway("deployment", "apply")
    warning = "No agent is polling work queue 'fast' right now"
    assert warning in shipway("deployment", "run", "quick").stderr
    other = cli_store.register_agent("elsewhere", ["default"], None)
    assert warning in shipway("deployment", "run", "quick").stderr
    cli_store.register_agent("fast-one", ["fast"], None)
    assert warning not in shipway("deployment", "run", "quick").stderr
    cli_store.deregister_agent(other.id)
    cli_store.register_agent("any-queue", [], None)
    assert "No agent" not in shipway("deployment", "run", "hello").stderr


def test_agent_ls_and_run_agree_on_which_agents_are_alive(
    shipway: Run, cli_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(liveness, "HEARTBEAT_INTERVAL", 0.5)  # gone after 1.5 s of silence
    shipway("deployment", "apply")
    shipway("agent", "ls")  # loads the command before the clock matters
    silent = cli_store.register_agent("silent", ["fast"], None)
    beating = cli_store.register_agent("beating", ["default"], None)
    time.sleep(2.0)

    def names(*args: str) -> set[str]:
        cli_store.heartbeat(beating.id)
        listed = json.loads(shipway("agent", "ls", "--json", *args).stdout)
        return {agent["name"] for agent in listed}

    assert names() == {"beating"}
    assert names("--all") == {"beating", "silent"}
    cli_store.heartbeat(beating.id)
    assert "No agent is polling work queue 'fast'" in shipway("deployment", "run", "quick").stderr
    cli_store.heartbeat(silent.id)
    assert "No agent" not in shipway("deployment", "run", "quick").stderr


def test_run_warns_when_no_agent_polling_the_queue_has_the_plugin(
    shipway: Run, cli_store: Store
) -> None:
    shipway("deployment", "apply")
    cli_store.register_agent("docker-only", ["fast"], None, ["docker-container"])
    warning = "No agent is polling work queue 'fast' right now with the 'process' plugin"
    assert warning in shipway("deployment", "run", "quick").stderr
    cli_store.register_agent("has-process", ["fast"], None, ["docker-container", "process"])
    assert "No agent" not in shipway("deployment", "run", "quick").stderr


@pytest.fixture
def paris_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("paris_time")
def test_at_takes_a_time_of_day_in_local_time() -> None:
    from shipway.cli._times import parse_when

    utc = timezone.utc
    two_pm = datetime(2026, 5, 1, 12, 0, tzinfo=utc)  # 14:00 in Paris (summer time)
    assert parse_when("15:30", two_pm) == datetime(2026, 5, 1, 13, 30, tzinfo=utc)
    assert parse_when("09:30", two_pm) == datetime(2026, 5, 2, 7, 30, tzinfo=utc)  # tomorrow
    assert parse_when("2026-05-03T08:00", two_pm) == datetime(2026, 5, 3, 6, 0, tzinfo=utc)
    before_clocks_go_back = datetime(2026, 10, 24, 20, 0, tzinfo=utc)  # 22:00 summer time
    assert parse_when("9:30", before_clocks_go_back) == datetime(2026, 10, 25, 8, 30, tzinfo=utc)


def test_durations_read_well_from_milliseconds_to_hours() -> None:
    from shipway.cli._times import duration

    start = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
    assert duration(None, None) == "-"
    assert duration(start, start + timedelta(milliseconds=52)) == "52ms"
    assert duration(start, start + timedelta(seconds=4.24)) == "4.2s"
    assert duration(start, start + timedelta(minutes=3, seconds=7)) == "3m07s"
    assert duration(start, start + timedelta(hours=1, minutes=2, seconds=3)) == "1h02m03s"


def test_run_mistakes_are_one_message(shipway: Run) -> None:
    shipway("deployment", "apply")
    _one_error(shipway("deployment", "run", "nope", check=False), "Known deployments: hello, quick")
    _one_error(shipway("deployment", "run", "hello", "--at", "soon", check=False), "not a time")
    _one_error(
        shipway("deployment", "run", "hello", "--override", "bogus=1", check=False),
        "--override does not fit the infrastructure: bogus",
    )
    _one_error(shipway("deployment", "run", "hello", "-p", "novalue", check=False), "KEY=VALUE")


def test_flow_run_ls_inspect_logs_cancel(shipway: Run, cli_store: Store) -> None:
    shipway("deployment", "apply")
    done = shipway("deployment", "run", "hello").stdout.strip()
    waiting = shipway("deployment", "run", "quick", "--at", "+1h").stdout.strip()
    agent = cli_store.register_agent("test-agent", [], None)
    cli_store.claim_runs(agent.id, ["default"], 1)
    cli_store.set_state(done, StateChange(S.RUNNING, identifier="host:123"))
    stamp = datetime.now(timezone.utc)
    cli_store.append_logs(
        done, [LogLine(stamp, "stdout", "hello you"), LogLine(stamp, "stderr", "a warning")]
    )
    cli_store.set_state(done, StateChange(S.COMPLETED, "exit 0", exit_code=0))

    table = shipway("flow-run", "ls").stdout
    assert done[:8] in table and waiting[:8] in table and "Completed" in table
    only = json.loads(shipway("flow-run", "ls", "--state", "completed", "--json").stdout)
    assert [r["id"] for r in only] == [done]
    by_deployment = json.loads(shipway("flow-run", "ls", "-d", "quick", "--json").stdout)
    assert [r["id"] for r in by_deployment] == [waiting]
    _one_error(shipway("flow-run", "ls", "-d", "nope", check=False), "no deployment named")

    inspected = json.loads(shipway("flow-run", "inspect", done[:6], "--json").stdout)
    assert inspected["identifier"] == "host:123"
    assert inspected["agent"] == f"test-agent ({agent.id})"
    assert inspected["infrastructure"]["env"]["API_TOKEN"] != "s3cret"
    assert [h["state"] for h in inspected["history"]] == [
        "Scheduled", "Pending", "Running", "Completed",
    ]  # fmt: skip
    text = shipway("flow-run", "inspect", done).stdout
    assert "History" in text and "host:123" in text and "s3cret" not in text

    logs = shipway("flow-run", "logs", done[:8])
    assert logs.stdout == "hello you\n" and logs.stderr == "a warning\n"

    cancelled = shipway("flow-run", "cancel", waiting[:8])
    assert "Cancelled (it had not started)" in cancelled.stderr
    _one_error(shipway("flow-run", "cancel", waiting, check=False), "already Cancelled")
    _one_error(shipway("flow-run", "inspect", "zzzzzzzz", check=False), "no flow run")


def test_work_queues(shipway: Run) -> None:
    shipway("deployment", "apply")
    shipway("work-queue", "set-limit", "fast", "3")
    queues = json.loads(shipway("work-queue", "ls", "--json").stdout)
    assert {q["name"]: q["concurrency_limit"] for q in queues} == {"default": None, "fast": 3}
    shipway("work-queue", "set-limit", "fast", "none")
    assert "none" in shipway("work-queue", "ls").stdout
    _one_error(shipway("work-queue", "set-limit", "fast", "lots", check=False), "0 or more")


def _drive_first_run(url: str, final: StateType, exit_code: int | None) -> threading.Thread:
    """A fake agent, in a thread: waits for the run the command creates and takes it to
    ``final`` with two lines of output."""

    def drive() -> None:
        with open_store(url) as store:
            agent = store.register_agent("fake", [], None)
            deadline = time.monotonic() + 30
            while not (claimed := store.claim_runs(agent.id, [], 1)):
                assert time.monotonic() < deadline, "no run was created"
                time.sleep(0.05)
            run_id = claimed[0].id
            store.set_state(run_id, StateChange(S.RUNNING, identifier="host:9"))
            stamp = datetime.now(timezone.utc)
            lines = [LogLine(stamp, "stdout", "working"), LogLine(stamp, "stderr", "careful")]
            store.append_logs(run_id, lines)
            time.sleep(0.3)
            if final is S.CANCELLED:
                store.request_cancellation(run_id)
            store.set_state(run_id, StateChange(final, "the end", exit_code=exit_code))

    thread = threading.Thread(target=drive, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(
    ("final", "exit_code", "status"),
    [(S.COMPLETED, 0, 0), (S.FAILED, 1, 1), (S.CRASHED, -9, 137), (S.CANCELLED, None, 130)],
)
def test_watch_follows_and_exits_with_the_run_status(
    shipway: Run, cli_url: str, final: StateType, exit_code: int | None, status: int
) -> None:
    shipway("deployment", "apply", "hello")
    driver = _drive_first_run(cli_url, final, exit_code)
    result = shipway("deployment", "run", "hello", "--watch", check=False)
    driver.join(10)
    assert result.returncode == status, result.stderr
    run_id, *output = result.stdout.splitlines()
    assert output == ["working"]
    assert "careful" in result.stderr
    assert f"Flow run {run_id} Running as host:9" in result.stderr
    assert f"Flow run {run_id} {final.value}" in result.stderr


def test_watch_follows_a_run_through_its_retries(shipway: Run, cli_url: str) -> None:
    shipway("deployment", "apply", "hello")

    def drive() -> None:  # a fake agent: attempt 1 fails and is retried, attempt 2 completes
        with open_store(cli_url) as store:
            agent = store.register_agent("fake", [], None)
            deadline = time.monotonic() + 30
            for attempt, final in ((1, S.FAILED), (2, S.COMPLETED)):
                while not (claimed := store.claim_runs(agent.id, [], 1)):
                    assert time.monotonic() < deadline, f"attempt {attempt} was never due"
                    time.sleep(0.05)
                run_id = claimed[0].id
                store.set_state(run_id, StateChange(S.RUNNING, identifier=f"host:{attempt}"))
                stamp = datetime.now(timezone.utc)
                store.append_logs(run_id, [LogLine(stamp, "stdout", f"attempt {attempt}", attempt)])
                time.sleep(0.6)  # longer than the watch's poll
                retry = Retry(datetime.now(timezone.utc), "retry: attempt 2 of 2")
                store.set_state(
                    run_id,
                    StateChange(
                        final,
                        "the end",
                        exit_code=int(final is S.FAILED),
                        retry=retry if final is S.FAILED else None,
                    ),
                )

    driver = threading.Thread(target=drive, daemon=True)
    driver.start()
    result = shipway("deployment", "run", "hello", "--watch", check=False)
    driver.join(30)
    assert result.returncode == 0, result.stderr
    run_id, *output = result.stdout.splitlines()
    assert output == ["attempt 1", "attempt 2"]
    assert f"Flow run {run_id} Scheduled (attempt 2): retry: attempt 2 of 2" in result.stderr
    assert f"Flow run {run_id} Completed" in result.stderr


def test_logs_follow_until_the_end(shipway: Run, cli_url: str, cli_store: Store) -> None:
    shipway("deployment", "apply", "hello")
    run_id = shipway("deployment", "run", "hello").stdout.strip()
    driver = _drive_first_run(cli_url, S.COMPLETED, 0)
    result = shipway("flow-run", "logs", run_id[:8], "--follow")
    driver.join(10)
    assert result.stdout == "working\n"
    assert "careful" in result.stderr and "Completed" in result.stderr


def test_help_and_run_do_not_load_the_database_layer() -> None:
    code = textwrap.dedent(
        """
        import sys
        from shipway.cli import cli
        import shipway.runner, shipway.deployments, shipway.engine
        from shipway.deployments import Deployment
        Deployment(name="x", flow="a.py:f", schedule={"interval": 60})
        loaded = [m for m in ("sqlalchemy", "alembic", "psycopg") if m in sys.modules]
        assert not loaded, loaded
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_watch_survives_a_database_restart(
    project: Path, postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not postgres_server.can_restart:
        pytest.skip("the server comes from SHIPWAY_TEST_POSTGRES_URL and cannot be stopped")
    url = postgres_server.create_database()
    shipway = _runner(project, url, monkeypatch)
    shipway("deployment", "apply", "hello")

    def outage_then_finish() -> None:
        # Not a fixed delay: the command must have created its run (a run it cannot create
        # is an error, not a watch), however long it took to start on a loaded machine.
        deadline = time.monotonic() + 60
        with open_store(url) as store:
            while not store.list_flow_runs():
                assert time.monotonic() < deadline, "the command created no run"
                time.sleep(0.05)
        postgres_server.stop()
        time.sleep(2.0)  # the watch polls every 0.5 s: it meets the outage
        postgres_server.start()
        _drive_first_run(url, S.COMPLETED, 0).join(30)

    thread = threading.Thread(target=outage_then_finish, daemon=True)
    thread.start()
    result = shipway("deployment", "run", "hello", "--watch", check=False)
    thread.join(30)
    assert result.returncode == 0, result.stderr
    assert "cannot be reached" in result.stderr or "was lost" in result.stderr
    assert "The store is reachable again." in result.stderr
    assert result.stdout.splitlines()[1:] == ["working"]
