"""Clock skew from the services' Date headers: measured, frozen once, applied, a finding past five minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import SimpleNamespace

import pytest

from drill.steps.base import StepBuilder
from drill.steps.preflight import record_skew
from drill.steps.skew import ClockSkew

LOCAL = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)


def _observe(skew: ClockSkew, seconds: float, source: str = "graph") -> None:
    server = LOCAL + timedelta(seconds=seconds)
    skew.observe(source, format_datetime(server, usegmt=True), LOCAL - timedelta(seconds=0.1), LOCAL)


@pytest.mark.parametrize("offset", [240, -240, 0])
def test_offset_is_the_median_of_the_samples_and_shifts_local_times(offset: int) -> None:
    skew = ClockSkew()
    for source, extra in (("identity", 0), ("log analytics", 1), ("graph", 120)):  # one outlier
        _observe(skew, offset + extra, source)
    assert skew.offset_s == pytest.approx(offset + 1, abs=1.0)
    assert skew.tenant_time(LOCAL) - LOCAL == timedelta(seconds=skew.offset_s)
    _observe(skew, offset + 600)  # later samples (a sped-up clock, a drifting one) do not move it
    assert skew.offset_s == pytest.approx(offset + 1, abs=1.0)


def test_unreadable_or_missing_dates_are_not_samples() -> None:
    skew = ClockSkew()
    skew.observe("graph", None, LOCAL, LOCAL)
    skew.observe("graph", "yesterday", LOCAL, LOCAL)
    assert not skew.measured
    assert skew.offset_s == 0.0


def _ctx(skew: ClockSkew) -> SimpleNamespace:
    findings: list[tuple[str, str, str]] = []
    ctx = SimpleNamespace(skew=skew, timings=SimpleNamespace(clock_skew_s=None), findings=findings)
    ctx.finding = lambda severity, title, detail, step=None: findings.append((severity, title, detail))
    return ctx


def test_skew_over_five_minutes_is_a_finding_and_recorded() -> None:
    skew = ClockSkew()
    _observe(skew, 360)
    ctx = _ctx(skew)
    sb = StepBuilder("preflight", "Preflight")
    record_skew(ctx, sb)  # type: ignore[arg-type]
    assert ctx.timings.clock_skew_s == pytest.approx(360.5, abs=1)
    assert sb.evidence["clock_skew"]["measured"] is True
    assert [f[1] for f in ctx.findings] == ["Workstation clock off the tenant's"]


def test_four_minutes_is_applied_without_a_finding() -> None:
    skew = ClockSkew()
    _observe(skew, -240)
    ctx = _ctx(skew)
    record_skew(ctx, StepBuilder("preflight", "Preflight"))  # type: ignore[arg-type]
    assert ctx.findings == []
    assert ctx.timings.clock_skew_s == pytest.approx(-239.5, abs=1)
