"""One audit's outcome as every renderer sees it: the results plus who, when and how much was read.

The console table, JUnit and the Maester JSON all take this one object, so they cannot disagree about the
counts or the exit code; the exit code follows the drills' rule (0 when nothing failed, 1 when anything
FAILED or could not be judged), and advisory warnings or controls the playbook declares unused never fail it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from drill.audit.model import FAILING, Result, Status

if TYPE_CHECKING:
    from drill.audit.facts import Facts

EXIT_PASS = 0
EXIT_FAIL = 1


def tally(results: list[Result]) -> dict[Status, int]:
    """How many results have each status; every status is present, zero included."""
    counts = dict.fromkeys(Status, 0)
    for result in results:
        counts[result.status] += 1
    return counts


@dataclass
class AuditReport:
    tenant_id: str
    playbook_name: str
    read_at: datetime
    results: list[Result]
    # Requests per service and the reader's notes, straight from Facts (for the bench and the auditor).
    requests: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # When judging finished; None when the caller does not time the run (renderers then show zero).
    finished_at: datetime | None = None

    @classmethod
    def from_facts(
        cls, facts: Facts, playbook_name: str, results: list[Result], finished_at: datetime | None = None
    ) -> AuditReport:
        return cls(
            tenant_id=facts.tenant_id,
            playbook_name=playbook_name,
            read_at=facts.read_at,
            results=list(results),
            requests=dict(facts.requests),
            notes=list(facts.notes),
            finished_at=finished_at,
        )

    def summary(self) -> dict[Status, int]:
        """How many results have each status; every status is present, zero included."""
        return tally(self.results)

    @property
    def passed(self) -> bool:
        return not any(r.status in FAILING for r in self.results)

    def exit_code(self) -> int:
        return EXIT_PASS if self.passed else EXIT_FAIL

    @property
    def duration_s(self) -> float:
        if self.finished_at is None:
            return 0.0
        return max(0.0, (self.finished_at - self.read_at).total_seconds())

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (evidence not yet redacted: the caller redacts before writing)."""
        return {
            "tenant_id": self.tenant_id,
            "playbook": self.playbook_name,
            "read_at": self.read_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "summary": {status.value: count for status, count in self.summary().items()},
            "exit_code": self.exit_code(),
            "requests": dict(self.requests),
            "notes": list(self.notes),
            "results": [r.as_dict() for r in self.results],
        }
