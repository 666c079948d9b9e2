"""One agent, one run at a time: every way a run can end is recorded in the store."""

from __future__ import annotations

import socket
from pathlib import Path

from _agent_helpers import Agents, apply, log_text, states_of, wait_for_state
from shipway.states import StateType
from shipway.store import Store

S = StateType


def test_a_completed_run_has_its_logs_and_identifier(
    store: Store, agents: Agents, project: Path
) -> None:
    apply(store, "hello", project, parameters={"name": "store"})
    run = store.create_flow_run("hello")

    agent = agents.run_once()

    record = store.get_flow_run(run.id)
    assert record.state is S.COMPLETED, record.state_message
    assert record.identifier is not None
    assert record.identifier.startswith(f"{socket.gethostname()}:")
    assert record.exit_code == 0
    assert states_of(store, run.id) == [S.SCHEDULED, S.PENDING, S.RUNNING, S.COMPLETED]
    assert "Hello, store!" in log_text(store, run.id)
    assert f"{run.id[:8]} hello Completed" in agent.output


def test_a_flow_that_raises_ends_failed_with_its_traceback(
    store: Store, agents: Agents, project: Path
) -> None:
    apply(store, "failing", project)
    run = store.create_flow_run("failing")

    agents.run_once()

    record = store.get_flow_run(run.id)
    assert record.state is S.FAILED
    assert record.exit_code == 1
    logs = log_text(store, run.id)
    assert "about to fail" in logs
    assert "RuntimeError: failing on purpose" in logs


def test_a_run_killed_by_a_signal_crashes_with_the_reason(
    store: Store, agents: Agents, project: Path
) -> None:
    apply(store, "suicide", project)
    run = store.create_flow_run("suicide")

    agents.run_once()

    record = store.get_flow_run(run.id)
    assert record.state is S.CRASHED
    assert "SIGKILL" in record.state_message
    assert "memory" in record.state_message  # the likely cause, said plainly


def test_submission_failures_are_recorded_on_the_run(
    store: Store, agents: Agents, project: Path
) -> None:
    apply(store, "bad-field", project, flow="hello", infrastructure={"type": "process", "bogus": 1})
    apply(store, "missing-dir", project, flow="hello",
          infrastructure={"type": "process", "working_dir": "does/not/exist"})
    bad = store.create_flow_run("bad-field")
    missing = store.create_flow_run("missing-dir")

    agents.run_once()

    bad_record = store.get_flow_run(bad.id)
    assert bad_record.state is S.FAILED
    assert "bogus" in bad_record.state_message
    missing_record = store.get_flow_run(missing.id)
    assert missing_record.state is S.CRASHED
    assert "does not exist" in missing_record.state_message
    # The plugin's hint travels with the message, to the state and to the run's logs.
    assert "Fix 'working_dir'" in missing_record.state_message
    assert "Fix 'working_dir'" in log_text(store, missing.id)
    assert "cannot submit" in log_text(store, bad.id)


def test_overrides_given_with_the_run_are_applied(
    store: Store, agents: Agents, project: Path, tmp_path: Path
) -> None:
    target = tmp_path / "out.txt"
    apply(store, "hello", project)
    run = store.create_flow_run(
        "hello",
        overrides={"command": ["sh", "-c", f"echo overridden > {target}"]},
    )

    agents.run_once()

    assert store.get_flow_run(run.id).state is S.COMPLETED
    assert target.read_text().strip() == "overridden"


def test_retries_record_every_attempt(
    store: Store, agents: Agents, project: Path, tmp_path: Path
) -> None:
    counter = tmp_path / "attempts"
    apply(store, "flaky", project, parameters={"counter": str(counter)}, retries=2,
          retry_delay_seconds=0.5)
    run = store.create_flow_run("flaky")

    agent = agents.start()
    record = wait_for_state(store, run.id, [S.COMPLETED, S.CRASHED])
    agent.stop()

    assert record.state is S.COMPLETED, record.state_message
    assert record.attempt == 3
    history = store.state_history(run.id)
    assert [(s.type, s.attempt) for s in history if s.type.is_final] == [
        (S.FAILED, 1), (S.FAILED, 2), (S.COMPLETED, 3)
    ]
    assert [s.type for s in history].count(S.SCHEDULED) == 3
    lines = store.read_logs(run.id)
    assert {line.attempt for line in lines if line.text.startswith("attempt ")} == {1, 2, 3}
    assert int(counter.read_text()) == 3


def test_retries_run_out(store: Store, agents: Agents, project: Path) -> None:
    apply(store, "failing", project, retries=1)
    run = store.create_flow_run("failing")

    agent = agents.start()
    wait_for_state(store, run.id, [S.FAILED])
    wait_for_state(store, run.id, [S.SCHEDULED, S.FAILED])

    def finished() -> bool:
        record = store.get_flow_run(run.id)
        return record.state is S.FAILED and record.attempt == 2

    from _agent_helpers import wait_for

    wait_for(finished, what="the second attempt to fail")
    agent.stop()
    assert [s.type for s in store.state_history(run.id)].count(S.FAILED) == 2


def test_runs_of_a_type_the_agent_cannot_resolve_are_left_for_others(
    store: Store, agents: Agents, project: Path
) -> None:
    """Issue 15, item 6: an agent without a deployment's plugin claimed its runs and
    failed them ("cannot submit"); it claims only the types it can resolve, and `agent
    ls` shows which."""
    import json
    import subprocess
    import sys

    apply(store, "elsewhere", project, flow="hello", infrastructure={"type": "no-such-type"})
    apply(store, "hello", project)
    elsewhere = store.create_flow_run("elsewhere")
    here = store.create_flow_run("hello")

    agent = agents.run_once("--name", "typed")

    assert store.get_flow_run(here.id).state is S.COMPLETED
    record = store.get_flow_run(elsewhere.id)
    assert (record.state, record.agent_id) == (S.SCHEDULED, None), record.state_message
    assert states_of(store, elsewhere.id) == [S.SCHEDULED]
    assert "infrastructure: docker-container, kubernetes-job, process" in agent.output
    listed = subprocess.run(
        [sys.executable, "-c", "from shipway.cli import main; main()", "agent", "ls", "--all",
         "--json"],
        env=agents.env(), capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    (typed,) = json.loads(listed.stdout)
    assert typed["infrastructure_types"] == ["docker-container", "kubernetes-job", "process"]
