"""The flow-side API in the engine, as `shipway run` shows it: flow options decide how the
run ends, the run logger's records arrive with their time and level, tasks fail the flow
with their traceback."""

from __future__ import annotations

import textwrap
from pathlib import Path

from _e2e_helpers import run_shipway


def test_in_the_engine_retries_and_timeout_decide_the_runs_end(tmp_path: Path) -> None:
    (tmp_path / "flows.py").write_text(
        textwrap.dedent(
            """
            import time
            from pathlib import Path
            from shipway import flow

            @flow(retries=1)
            def second_time_lucky() -> None:
                marker = Path("tried")
                if not marker.exists():
                    marker.write_text("1")
                    raise RuntimeError("first attempt")
                print("worked on attempt 2")

            @flow(timeout_seconds=0.5)
            def too_slow() -> None:
                time.sleep(30)
            """
        )
    )
    (tmp_path / "shipway.yaml").write_text(
        "deployments:\n"
        "  - {name: lucky, flow: flows.py:second_time_lucky}\n"
        "  - {name: slow, flow: flows.py:too_slow}\n"
    )

    lucky = run_shipway("run", "lucky", cwd=tmp_path)
    assert lucky.returncode == 0, lucky.stderr
    assert "worked on attempt 2" in lucky.stdout
    assert "Flow 'second_time_lucky' failed (attempt 1 of 2)" in lucky.stderr
    slow = run_shipway("run", "slow", cwd=tmp_path)
    assert slow.returncode == 1
    assert "TimeoutError: flow 'too_slow' timed out after 0.5 s" in slow.stderr
    assert "Failed" in slow.stderr


def test_shipway_run_shows_records_with_time_and_level_and_output_unchanged(
    tmp_path: Path,
) -> None:
    (tmp_path / "flows.py").write_text(
        textwrap.dedent(
            """
            import time
            from shipway import flow, get_run_logger, task

            @task
            def second(i):
                time.sleep(1)
                return i

            @task
            def explode():
                raise LookupError("the task's own failure")

            module_logger = get_run_logger()  # asked for while the engine imports the flow

            @flow
            def talks():
                module_logger.warning("a warning record")
                print("  a plain print, spacing kept  ")
                started = time.monotonic()
                futures = [second.submit(1), second.submit(2)]
                print(sum(f.result() for f in futures), time.monotonic() - started < 1.6)

            @flow
            def fails():
                explode.submit().result()
            """
        )
    )
    (tmp_path / "shipway.yaml").write_text(
        "deployments:\n"
        "  - {name: talks, flow: flows.py:talks}\n"
        "  - {name: fails, flow: flows.py:fails}\n"
    )
    talks = run_shipway("run", "talks", cwd=tmp_path)
    assert talks.returncode == 0, talks.stderr
    assert talks.stdout == "  a plain print, spacing kept  \n3 True\n"
    assert "| WARNING | talks | a warning record\n" in talks.stderr
    assert "\x1e" not in talks.stderr  # the log line's mark never reaches the terminal

    fails = run_shipway("run", "fails", cwd=tmp_path)
    assert fails.returncode == 1
    assert "| ERROR   | explode | Task 'explode' failed: LookupError" in fails.stderr
    assert 'raise LookupError("the task\'s own failure")' in fails.stderr
    assert "flow 'fails' failed: LookupError" in fails.stderr
