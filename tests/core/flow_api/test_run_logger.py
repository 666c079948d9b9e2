"""``get_run_logger()`` and the log line that carries its records from the engine."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest

from shipway import _run_context, get_run_logger
from shipway._run_context import use_log_lines
from shipway.infrastructure import MaskedSink, TerminalSink
from shipway.log_lines import (
    LOG_LINE_MARK,
    decode_log_line,
    encode_log_line,
    level_number,
    render_log_line,
)
from shipway.secrets import Masker


def test_outside_a_run_it_logs_to_stderr_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    logger = get_run_logger()
    assert isinstance(logger, logging.Logger)
    logger.warning("disk at %d%%", 91)
    out, err = capsys.readouterr()
    assert out == ""
    assert err.endswith("| WARNING | disk at 91%\n")
    assert LOG_LINE_MARK not in err


def test_in_the_engine_records_become_log_lines(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_run_context, "_log_lines", [False])
    get_run_logger().info("logged before the engine switched")  # a module logging on import
    use_log_lines()
    try:
        get_run_logger().error("first line\nsecond line")
    finally:
        logging.getLogger("shipway.flow_run").handlers.clear()
    first, err = capsys.readouterr().err.split("\n", 1)
    assert first.endswith("| INFO    | logged before the engine switched")
    assert err.count("\n") == 1  # one line on the wire, whatever the message holds
    record = decode_log_line(err.encode())
    assert record is not None
    assert (record.level, record.message) == (40, "first line\nsecond line")
    assert abs(record.time.timestamp() - datetime.now(timezone.utc).timestamp()) < 60


def test_lines_without_the_mark_or_damaged_are_not_records() -> None:
    assert decode_log_line(b"a plain print\n") is None
    assert decode_log_line((LOG_LINE_MARK + "{not json\n").encode()) is None
    assert decode_log_line((LOG_LINE_MARK + '{"level": 20}\n').encode()) is None


def test_round_trip_keeps_level_time_source_and_unicode() -> None:
    line = encode_log_line(30, 1767225600.25, 'café ☕ "quoted"', "etl")
    record = decode_log_line(line.encode())
    assert record is not None
    assert (record.level, record.time.timestamp(), record.message, record.source) == (
        30, 1767225600.25, "café ☕ \"quoted\"", "etl",
    )  # fmt: skip


def test_a_huge_message_is_shortened_to_fit_one_output_line() -> None:
    line = encode_log_line(20, 0.0, "x" * 100_000)
    assert len(line.encode()) < 65_536
    assert decode_log_line(line.encode()) is not None


def test_the_terminal_shows_records_as_text_and_output_unchanged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sink = TerminalSink()
    sink.write("stdout", b"printed as is\n")
    sink.write("stderr", encode_log_line(30, 1767225600.0, "careful", "etl").encode())
    out, err = capsys.readouterr()
    assert out == "printed as is\n"
    expected = render_log_line(
        30, datetime.fromtimestamp(1767225600.0, timezone.utc), "careful", "etl"
    )
    assert err == expected + "\n"
    assert err.endswith("| WARNING | etl | careful\n")


def test_masking_applies_to_the_message_not_its_json_spelling() -> None:
    received: list[bytes] = []

    class Keep:
        def write(self, stream: str, data: bytes) -> None:
            received.append(data)

    masker = Masker()
    masker.hide(['pa"ss-long-secret'])
    MaskedSink(Keep(), masker).write(
        "stderr", encode_log_line(20, 0.0, 'token pa"ss-long-secret').encode()
    )  # type: ignore[arg-type]
    record = decode_log_line(received[0])
    assert record is not None and 'pa"ss-long-secret' not in record.message


@pytest.mark.parametrize(("name", "number"), [("warning", 30), ("ERROR", 40), ("15", 15)])
def test_level_names(name: str, number: int) -> None:
    assert level_number(name) == number


def test_an_unknown_level_says_which_exist() -> None:
    with pytest.raises(ValueError, match="use debug, info, warning, error or critical"):
        level_number("loud")
