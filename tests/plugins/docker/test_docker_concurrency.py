"""An agent runs more Docker runs at once than anyio's default thread limiter has threads
(40), and every run ends, exactly once: the same guard as the Kubernetes plugin's (where
runs holding worker threads for their whole life deadlocked the agent at ~20)."""

from __future__ import annotations

from pathlib import Path

from _docker_images import DockerCleanup

from _agent_load import run_through_agent

RUNS = 50
BOUND_SECONDS = 240.0
"""Far above what 50 two-second containers take here (about 20 s), far below a hang."""


def test_an_agent_completes_more_concurrent_runs_than_the_default_thread_limiter_has_threads(
    runtime_image: str, docker_cleanup: DockerCleanup, tmp_path: Path
) -> None:
    infrastructure = {
        "type": "docker-container",
        "image": runtime_image,
        "image_pull_policy": "never",
        "labels": docker_cleanup.labels,
        # The container's life, not the engine's start-up, is what holds a thread.
        "command": ["sh", "-c", "sleep 2; echo done"],
    }

    load = run_through_agent(
        tmp_path / "home",
        infrastructure,
        runs=RUNS,
        limit=RUNS + 10,
        timeout=BOUND_SECONDS,
        entrypoint="flows/hello.py:hello_world",
    )

    assert load.exit_code == 0 and load.seconds < BOUND_SECONDS, load.output
    assert load.not_completed_once() == {}, load.output
    assert len(load.histories) == RUNS
