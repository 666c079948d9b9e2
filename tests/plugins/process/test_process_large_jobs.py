"""A job too large for an environment variable (large parameters) is handed to the
engine in a private temporary file, removed once the run is over."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import anyio
import pytest
from _process_helpers import WAIT_SECONDS, RecordingSink, WriteFlow, run_to_end
from test_process_reattach import _orphan

from shipway.infrastructure import JOB_ENV_VAR, JOB_FILE_ENV_VAR
from shipway_process import Process
from shipway_process._watch_files import RunFiles

pytestmark = pytest.mark.anyio

MEBIBYTE = 1024 * 1024

REPORTS = """
    import hashlib, os, stat
    from shipway import flow

    @flow
    def reports(data: str):
        print("length:", len(data), flush=True)
        print("sha256:", hashlib.sha256(data.encode()).hexdigest(), flush=True)
        print("in variable:", bool(os.environ.get("SHIPWAY_FLOW_RUN")), flush=True)
        path = os.environ.get("SHIPWAY_FLOW_RUN_FILE")
        print("file:", path, flush=True)
        if path:
            print("mode:", oct(stat.S_IMODE(os.stat(path).st_mode)), flush=True)
"""


def _report(sink: RecordingSink) -> dict[str, str]:
    lines = sink.text("stdout").splitlines()
    return dict(line.split(": ", 1) for line in lines if ": " in line)


@pytest.mark.parametrize("infrastructure", [Process(), Process(python=sys.executable)])
async def test_a_1_mib_parameter_arrives_intact_through_a_private_file(
    write_flow: WriteFlow, sink: RecordingSink, infrastructure: Process
) -> None:
    data = "".join(chr(0x41 + i % 26) for i in range(MEBIBYTE))  # far over 128 KiB
    job = write_flow("reports", REPORTS, data=data)

    _, result = await run_to_end(infrastructure, job, sink)

    assert result.status_code == 0, sink.text("stderr")[-2000:]
    report = _report(sink)
    assert report["length"] == str(MEBIBYTE)
    assert report["sha256"] == hashlib.sha256(data.encode()).hexdigest()
    assert report["in variable"] == "False"
    assert report["mode"] == "0o600"  # parameters may be secret
    assert not Path(report["file"]).exists(), "the job file outlived the run"


async def test_a_small_job_goes_in_the_variable(write_flow: WriteFlow, sink: RecordingSink) -> None:
    job = write_flow("reports", REPORTS, data="small")

    _, result = await run_to_end(Process(), job, sink)

    assert result.status_code == 0, sink.text("stderr")
    assert _report(sink)["in variable"] == "True"
    assert _report(sink)["file"] == "None"


async def test_an_inherited_hand_over_does_not_replace_a_large_job(
    write_flow: WriteFlow, sink: RecordingSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run started from inside another flow run inherits its SHIPWAY_FLOW_RUN, which
    would win over the file."""
    monkeypatch.setenv(JOB_ENV_VAR, '{"entrypoint": "flows/other.py:other"}')
    job = write_flow("reports", REPORTS, data="x" * MEBIBYTE)

    _, result = await run_to_end(Process(), job, sink)

    assert result.status_code == 0, sink.text("stderr")
    assert _report(sink)["length"] == str(MEBIBYTE)


def test_the_preview_of_a_large_job_names_the_file_instead_of_the_job(
    write_flow: WriteFlow,
) -> None:
    job = write_flow("reports", REPORTS, data="x" * MEBIBYTE)

    preview = Process().preview(job)

    assert f"{JOB_FILE_ENV_VAR}=" in preview
    assert "xxxx" not in preview
    assert f"-u {JOB_ENV_VAR}" in preview


async def test_the_job_file_is_removed_by_the_agent_that_re_attaches(
    write_flow: WriteFlow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agent that started the run died before it could remove the file."""
    monkeypatch.setenv("SHIPWAY_HOME", str(tmp_path / "home"))
    identifier = _orphan(write_flow("reports", REPORTS, data="x" * MEBIBYTE))
    files = RunFiles.find(identifier)
    assert files is not None and files.job is not None and files.job.exists()

    with anyio.fail_after(WAIT_SECONDS):
        result = await Process().reattach(identifier)

    assert result.status_code == 0
    assert not files.job.exists()
