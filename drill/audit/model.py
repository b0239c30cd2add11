"""The audit's vocabulary: a check's fixed description, what one run of it found, and the whole report.

A check's identity (id, severity, rationale, remediation, mappings) lives in the catalog and never in the
code that judges, so a renamed function cannot change what an auditor reads, and every output format
(console, report.json, HTML, Maester JSON, JUnit) prints the same words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from drill.audit.facts import Facts
    from drill.playbook import Playbook

Obj = dict[str, Any]


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    # The facts the check needs could not be read, or the check itself broke: fails the audit.
    ERROR = "error"
    # An advisory check that did not pass: reported, never fails the audit.
    WARNING = "warning"
    # Only for a check the playbook declares not applicable (an optional control it does not use),
    # with the reason; never because something could not be read.
    NOT_APPLICABLE = "not_applicable"


FAILING = frozenset({Status.FAILED, Status.ERROR})


@dataclass(frozen=True)
class Mapping:
    """One framework reference, e.g. ("NIST SP 800-53 Rev. 5", "AC-2")."""

    framework: str
    control: str
    title: str = ""


@dataclass(frozen=True)
class CheckSpec:
    id: str  # BG.<AREA>.<n>, stable forever: ledgers and drift compare by it
    area: str
    title: str
    severity: Severity
    rationale: str
    remediation: str
    mappings: tuple[Mapping, ...]
    # Microsoft Learn (or other public) pages the check rests on.
    references: tuple[str, ...] = ()
    advisory: bool = False
    # Which reading the verdict judges by, where the anchors (Microsoft, CIS, Maester, ScubaGear, Prowler)
    # read the control differently: both readings are shown in the outcome's details, the stricter decides.
    reading: str = ""


@dataclass
class Outcome:
    """What one check found. `evidence` holds the objects judged (redacted by the runner before output)."""

    status: Status
    summary: str
    evidence: list[Obj] = field(default_factory=list)
    # The objects at fault, named for a human ("CA001 - Require MFA (8a7b...c03)").
    offenders: list[str] = field(default_factory=list)
    # Check-specific structured readings (e.g. both exclusion readings, which GA ceilings are met).
    details: Obj = field(default_factory=dict)

    @classmethod
    def passed(cls, summary: str, evidence: list[Obj] | None = None, **details: Any) -> Outcome:
        return cls(Status.PASSED, summary, list(evidence or []), [], dict(details))

    @classmethod
    def failed(
        cls,
        summary: str,
        evidence: list[Obj] | None = None,
        offenders: list[str] | None = None,
        **details: Any,
    ) -> Outcome:
        return cls(Status.FAILED, summary, list(evidence or []), list(offenders or []), dict(details))

    @classmethod
    def error(cls, summary: str, **details: Any) -> Outcome:
        return cls(Status.ERROR, summary, [], [], dict(details))


CheckFn = Callable[["Facts", "Playbook"], Outcome]


@dataclass
class Result:
    """A check's spec with its outcome: what every renderer prints."""

    spec: CheckSpec
    outcome: Outcome

    @property
    def status(self) -> Status:
        return self.outcome.status

    def as_dict(self) -> Obj:
        s, o = self.spec, self.outcome
        return {
            "id": s.id,
            "area": s.area,
            "title": s.title,
            "severity": s.severity.value,
            "advisory": s.advisory,
            "reading": s.reading,
            "status": o.status.value,
            "summary": o.summary,
            "rationale": s.rationale,
            "remediation": s.remediation,
            "mappings": [
                {"framework": m.framework, "control": m.control, "title": m.title} for m in s.mappings
            ],
            "references": list(s.references),
            "offenders": list(o.offenders),
            "details": o.details,
            "evidence": o.evidence,
        }
