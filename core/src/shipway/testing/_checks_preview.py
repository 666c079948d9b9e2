"""Conformance checks on ``preview``: text only, nothing started, secrets masked."""

from __future__ import annotations

from shipway.infrastructure import Infrastructure, output_sink
from shipway.testing._project import FlowJobs
from shipway.testing._running import RecordingSink
from shipway.testing._suite import ConformanceBase

__all__ = ["PreviewChecks"]

_SECRET = "conformance-secret-3f9a"


class PreviewChecks(ConformanceBase):
    """``preview`` shows what would run and does nothing else."""

    def test_preview_has_no_side_effects(
        self, infrastructure: Infrastructure, flow_jobs: FlowJobs
    ) -> None:
        job = flow_jobs.hello("preview")
        sink = RecordingSink()
        before = set(self.platform_snapshot(infrastructure))
        with output_sink(sink):
            first = infrastructure.preview(job)
            second = infrastructure.preview(job)
            placeholder = infrastructure.preview()
        after = set(self.platform_snapshot(infrastructure))

        assert isinstance(first, str) and first.strip(), f"preview returned {first!r}"
        assert first == second, "preview of the same job changed between two calls"
        assert isinstance(placeholder, str) and placeholder.strip(), "preview() without a job"
        assert not sink.lines, f"preview produced run output: {sink.text()!r}"
        assert not after - before, f"preview started something: {sorted(map(str, after - before))}"

    def test_preview_masks_secrets(
        self, infrastructure: Infrastructure, flow_jobs: FlowJobs
    ) -> None:
        configured = infrastructure.model_copy(
            update={"env": {**infrastructure.env, "SHIPWAY_CONFORMANCE_API_TOKEN": _SECRET}}
        )

        text = configured.preview(flow_jobs.hello())

        assert _SECRET not in text, f"preview shows the value of a secret variable:\n{text}"
