"""What every step shares: a builder that times the step and turns checks into a StepResult.

Fail closed lives here: a step whose required check did not pass is FAIL, a check with no verdict (None)
is FAIL with "not proven", and a step with no required check at all cannot pass. A check the platform cannot
observe is NOT_OBSERVABLE and must name the later check that proves it instead; the verdict (not the step)
then counts it passed only if that proof passed (`drill.evidence.model.effective_status`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from drill.evidence.model import Check, Status, StepResult


def utcnow() -> datetime:
    return datetime.now(UTC)


class StepBuilder:
    def __init__(self, step: str, title: str, *, required: bool = True) -> None:
        self.step = step
        self.title = title
        self.required = required
        self.started_at = utcnow()
        self._t0 = time.monotonic()
        self.checks: list[Check] = []
        self.evidence: dict[str, Any] = {}
        self.screenshots: list[str] = []

    def check(
        self,
        check_id: str,
        title: str,
        ok: bool | None,
        reason: str,
        evidence: dict[str, Any] | None = None,
        *,
        required: bool = True,
    ) -> bool:
        status = Status.PASS if ok is True else Status.FAIL
        if ok is None:
            reason = f"not proven: {reason}"
        self.checks.append(
            Check(
                id=check_id,
                title=title,
                status=status,
                reason=reason,
                required=required,
                evidence=evidence or {},
            )
        )
        return ok is True

    def not_observable(
        self,
        check_id: str,
        title: str,
        reason: str,
        replaced_by: str | None,
        evidence: dict[str, Any] | None = None,
        *,
        required: bool = True,
    ) -> None:
        """Record what this platform cannot show. A required one needs `replaced_by` ("step/check"): without
        it the step fails, since nothing would ever prove it."""
        self.checks.append(
            Check(
                id=check_id,
                title=title,
                status=Status.NOT_OBSERVABLE,
                reason=reason,
                required=required,
                evidence=evidence or {},
                replaced_by=replaced_by,
            )
        )

    def _result(self, status: Status, reason: str) -> StepResult:
        ended = utcnow()
        return StepResult(
            step=self.step,
            title=self.title,
            status=status,
            reason=reason,
            started_at=self.started_at,
            ended_at=ended,
            duration_s=round(time.monotonic() - self._t0, 3),
            checks=self.checks,
            evidence=self.evidence,
            screenshots=self.screenshots,
            required=self.required,
        )

    def finish(self, summary: str = "every check passed") -> StepResult:
        failed = [c for c in self.checks if c.required and not _settled_here(c)]
        if failed:
            return self._result(Status.FAIL, f"{failed[0].title}: {failed[0].reason}")
        if not any(c.required and c.status is Status.PASS for c in self.checks):
            return self._result(Status.FAIL, "no required check ran")
        deferred = [c for c in self.checks if c.status is Status.NOT_OBSERVABLE]
        if deferred:
            later = sorted({c.replaced_by for c in deferred if c.replaced_by})
            summary += f"; {len(deferred)} check(s) not observable on this platform" + (
                f", proven instead by {', '.join(later)}" if later else ""
            )
        return self._result(Status.PASS, summary)

    def fail(self, reason: str) -> StepResult:
        return self._result(Status.FAIL, reason)

    def error(self, reason: str) -> StepResult:
        return self._result(Status.ERROR, reason)

    def skipped(self, reason: str) -> StepResult:
        return self._result(Status.SKIPPED, reason)


def _settled_here(check: Check) -> bool:
    """Passed, or not observable with a named proof still to come (the verdict settles it)."""
    return check.status is Status.PASS or (check.status is Status.NOT_OBSERVABLE and bool(check.replaced_by))
