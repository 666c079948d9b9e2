"""Agents on ``--api``: the same agent on a RemoteStore, through a real ``shipway server
start``, with no database it could open. Runs are claimed exactly once beside a database
agent, a cancellation reaches the run, and a server stopped and started again is waited
for as a database outage is."""

from __future__ import annotations

import signal
import threading
from collections import Counter
from pathlib import Path

from _agent_helpers import (
    Agents,
    appending_command,
    apply,
    run_ids_in,
    states_of,
    wait_for,
    wait_for_state,
    write_project,
)
from _server_process import TOKEN, ServerProcess, start_remote_agent
from shipway.states import StateType
from shipway.store import Store

S = StateType


def test_a_remote_and_a_database_agent_run_40_runs_each_once(
    server_store: Store, server_agents: Agents, remote_server: ServerProcess, tmp_path: Path
) -> None:
    target = tmp_path / "out.jsonl"
    queue = f"shared-{tmp_path.name}"
    apply(
        server_store, f"forty-{tmp_path.name}", tmp_path, work_queue=queue,
        infrastructure=appending_command(target, sleep=0.1),
    )  # fmt: skip
    runs = {server_store.create_flow_run(f"forty-{tmp_path.name}").id for _ in range(40)}

    remote = start_remote_agent(server_agents, remote_server, "-q", queue, "--limit", "4")
    local = server_agents.start("-q", queue, "--limit", "4")

    def all_final() -> bool:
        return all(server_store.get_flow_run(run_id).state.is_final for run_id in runs)

    wait_for(all_final, timeout=180, what="the 40 runs to finish")
    remote.stop()
    local.stop()
    records = [server_store.get_flow_run(run_id) for run_id in runs]
    assert Counter(record.state for record in records) == {S.COMPLETED: 40}, remote.output
    written = Counter(run_ids_in(target))
    assert set(written) == runs
    assert set(written.values()) == {1}  # each submitted exactly once
    for record in records[:10]:
        assert states_of(server_store, record.id) == [
            S.SCHEDULED,
            S.PENDING,
            S.RUNNING,
            S.COMPLETED,
        ]
    agent_names = {agent.id: agent.name for agent in server_store.list_agents()}
    claimed_by = Counter(agent_names[record.agent_id or ""] for record in records)
    assert len(claimed_by) == 2, claimed_by  # both agents took runs
    assert f"polling {queue} on {remote_server.url}" in remote.output
    assert TOKEN not in remote.output


def test_a_cancellation_reaches_a_run_through_the_remote_agent(
    server_store: Store, server_agents: Agents, remote_server: ServerProcess, tmp_path: Path
) -> None:
    project = write_project(tmp_path / "project")
    marker = tmp_path / "started"
    queue = f"cancel-{tmp_path.name}"
    apply(
        server_store, f"sleeper-{tmp_path.name}", project, flow="sleeper", work_queue=queue,
        parameters={"marker": str(marker)},
    )  # fmt: skip
    agent = start_remote_agent(server_agents, remote_server, "-q", queue, "--grace", "2")
    run = server_store.create_flow_run(f"sleeper-{tmp_path.name}")
    wait_for(marker.exists, what="the flow to start")

    server_store.request_cancellation(run.id)

    record = wait_for_state(server_store, run.id, [S.CANCELLED, S.CRASHED, S.FAILED, S.COMPLETED])
    assert record.state is S.CANCELLED, (record.state_message, agent.output)
    assert states_of(server_store, run.id)[-2:] == [S.CANCELLING, S.CANCELLED]
    assert agent.process.poll() is None, agent.output


def test_the_server_stopped_and_started_again_is_waited_for(
    shipway_home: Path, session_secret_key: str, tmp_path: Path
) -> None:
    """As with a database outage (tests/reliability/test_database_outage.py): nothing is
    lost or run twice, and the agent says when the server is away and when it is back."""
    from shipway.store import open_store

    store_url = f"sqlite:///{tmp_path / 'shipway.db'}"
    server = ServerProcess(
        store_url, tmp_path / "home", tmp_path / "server.log", session_secret_key
    )
    logs = tmp_path / "agent-logs"
    logs.mkdir()
    agents = Agents(store_url, shipway_home, logs)
    target = tmp_path / "out.jsonl"
    server.start()
    try:
        with open_store(store_url) as store:
            apply(store, "steady", tmp_path, infrastructure=appending_command(target, sleep=1.5))
            runs = [store.create_flow_run("steady").id for _ in range(6)]
            agent = start_remote_agent(agents, server, "--limit", "3")
            wait_for(lambda: store.list_flow_runs(states=[S.RUNNING]), what="a run to start")

            server.stop()
            threading.Event().wait(5.0)
            assert agent.process.poll() is None, agent.output
            server.start()

            for run_id in runs:
                record = wait_for_state(store, run_id, [S.COMPLETED, S.CRASHED, S.FAILED], 90)
                assert record.state is S.COMPLETED, (record.state_message, agent.output)
                assert states_of(store, run_id).count(S.RUNNING) == 1
            assert sorted(run_ids_in(target)) == sorted(runs), agent.output
            assert agent.process.poll() is None, agent.output
            assert "unreachable" in agent.output and "reachable again" in agent.output
            agent.signal(signal.SIGTERM)
            assert agent.wait() == 0, agent.output
            assert store.list_agents()[0].stopped is not None  # deregistered through the API
    finally:
        agents.stop_all()
        server.stop()


def test_an_agent_with_a_wrong_token_stops_at_start_in_one_message(
    server_agents: Agents, remote_server: ServerProcess
) -> None:
    wrong = "not-the-server-token-" + "z" * 20
    agent = start_remote_agent(server_agents, remote_server, token=wrong)
    assert agent.wait() == 2, agent.output  # as an agent whose database refuses its password
    assert agent.output.splitlines() == [
        f"Error: the shipway server at {remote_server.url} refused the request: this server "
        "needs a token: Authorization: Bearer <token>",
        "Set SHIPWAY_API_TOKEN to the server's token.",
    ]


def test_a_remote_agent_killed_has_its_run_followed_again_by_the_next(
    server_store: Store, server_agents: Agents, remote_server: ServerProcess, tmp_path: Path
) -> None:
    """Reconciliation through the API: the orphaned run is adopted (its lease expired)
    and re-attached to by another remote agent, never submitted again."""
    project = write_project(tmp_path / "project")
    marker = tmp_path / "started"
    queue = f"killed-{tmp_path.name}"
    name = f"sleeper-{tmp_path.name}"
    apply(
        server_store, name, project, flow="sleeper", work_queue=queue,
        parameters={"seconds": 3, "marker": str(marker)},
    )  # fmt: skip
    run = server_store.create_flow_run(name)
    fast = ("-q", queue, "--heartbeat-interval", "0.5")
    first = start_remote_agent(server_agents, remote_server, *fast)
    wait_for(marker.exists, what="the flow to start")
    wait_for_state(server_store, run.id, [S.RUNNING])

    first.signal(signal.SIGKILL)
    first.wait()
    second = start_remote_agent(server_agents, remote_server, *fast)

    record = wait_for_state(server_store, run.id, [S.COMPLETED, S.CRASHED, S.FAILED])
    assert record.state is S.COMPLETED, (record.state_message, second.output)
    assert record.agent_id != server_store.state_history(run.id)[1].agent_id  # adopted
    assert states_of(server_store, run.id).count(S.RUNNING) == 1  # never submitted again
    assert "re-attached" in second.output
