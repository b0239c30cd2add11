"""The posture audit's record: what `report.json` of an `audit` bundle holds, and what verify validates.

It lives in the evidence layer (not beside the checks) because the verifier, the ledger and the renderers
must read an audit bundle without importing the code that produced it; like the drill record it is strict
and versioned, so an old bundle read by a new tool fails loudly instead of losing a field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from drill.evidence.model import Verdict

AUDIT_SCHEMA_VERSION = 1
CheckStatus = Literal["passed", "failed", "error", "warning", "not_applicable"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MappingRef(_Strict):
    framework: str
    control: str
    title: str = ""


class AuditCheck(_Strict):
    id: str
    area: str
    title: str
    severity: Literal["critical", "high", "medium", "low", "info"]
    advisory: bool = False
    # Which reading the verdict judges by where the anchors differ (drill/audit/catalog.py READINGS).
    reading: str = ""
    status: CheckStatus
    summary: str
    rationale: str
    remediation: str
    mappings: list[MappingRef] = Field(default_factory=list)
    references: list[str] = Field(default_factory=list)
    offenders: list[str] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)
    evidence: list[dict[str, Any]] = Field(default_factory=list)


class DriftItem(_Strict):
    """One check whose status changed since the previous audit recorded in the ledger."""

    id: str
    title: str
    before: str
    after: str


class AuditRecord(_Strict):
    schema_version: Literal[1] = 1
    kind: Literal["audit"] = "audit"
    audit_id: str
    tenant_id: str
    tenant_domain: str = ""
    playbook: str = ""
    tool_version: str = ""
    started_at: datetime
    read_at: datetime
    ended_at: datetime
    verdict: Verdict
    reason: str
    counts: dict[str, int] = Field(default_factory=dict)
    checks: list[AuditCheck] = Field(default_factory=list)
    requests: dict[str, int] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    unread: dict[str, str] = Field(default_factory=dict)
    # Against the previous audit of this tenant in the ledger (empty on the first).
    previous_audit: str | None = None
    drift: list[DriftItem] = Field(default_factory=list)

    @property
    def failing(self) -> list[AuditCheck]:
        return [c for c in self.checks if c.status in ("failed", "error")]


def decide(checks: list[AuditCheck], expected_ids: set[str]) -> tuple[Verdict, str]:
    """PASS only when every expected check ran and none failed or errored (fail closed)."""
    seen = {c.id for c in checks}
    missing = sorted(expected_ids - seen)
    if missing:
        return Verdict.FAIL, f"checks did not run: {', '.join(missing)}"
    bad = [c for c in checks if c.status in ("failed", "error")]
    if bad:
        names = ", ".join(c.id for c in bad[:8]) + (" …" if len(bad) > 8 else "")
        return Verdict.FAIL, f"{len(bad)} check(s) failed: {names}"
    tally = {s: sum(c.status == s for c in checks) for s in ("passed", "warning", "not_applicable")}
    said = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in tally.items() if n)
    return Verdict.PASS, f"no check failed: {said}"


def report_schema() -> bytes:
    """The JSON Schema shipped as report.schema.json in every audit bundle."""
    import json

    schema = AuditRecord.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "breakglass-drill/audit-report/1"
    return (json.dumps(schema, indent=2, sort_keys=True) + "\n").encode()
