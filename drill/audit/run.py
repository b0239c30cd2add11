"""One posture audit, end to end: read the tenant, judge every check, write the signed bundle and ledger.

The ledger is both an input and the output. Input: each account's last PASS drill (BG.PROC.1), who took
part in PASS drills (BG.PROC.4), the emergency card codes last confirmed (notes on stale cards) and the
previous audit of the tenant (drift), read only from lines that verify under the pinned signing key, as the
scheduler does: a forged line must not make an overdue account look drilled. Output: an `audit` line with
every check's status, so tomorrow's audit (and `drill schedule status`) can say what changed without opening
bundles.
"""

from __future__ import annotations

import dataclasses
import secrets as pysecrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drill import __version__
from drill.audit.cards import card_notes
from drill.audit.facts import AccountFacts, Facts
from drill.audit.judge import judge
from drill.audit.model import Outcome, Result
from drill.audit.practice import passed_drills
from drill.audit.report import AuditReport, tally
from drill.evidence import ledger
from drill.evidence.audit_record import AuditCheck, AuditRecord, DriftItem, decide

if TYPE_CHECKING:
    from drill.evidence.audit_bundle import FinishedAudit, PdfRenderer
    from drill.evidence.signing import Signer
    from drill.playbook import Playbook

# Facts read from the tenant (the rest come from the ledger and the runner itself).
_NOT_FROM_THE_TENANT = ("tenant_id", "read_at", "accounts", "last_pass", "passed_drills", "unread", "notes",
                        "requests", "unreachable", "answered")  # fmt: skip
TENANT_FACTS = (
    "accounts",
    *(f.name for f in dataclasses.fields(Facts) if f.name not in _NOT_FROM_THE_TENANT),
)

# Fills the facts in place; each reader records what it could not read in facts.unread.
FactReader = Callable[[Facts, "Playbook"], None]


@dataclass
class AuditRun:
    facts: Facts
    results: list[Result]  # redacted: every renderer and the bundle take these
    record: AuditRecord
    finished: FinishedAudit | None = None

    @property
    def exit_code(self) -> int:
        return 0 if self.record.verdict.value == "PASS" else 1

    @property
    def read_nothing(self) -> str | None:
        """Why no fact at all was read from the tenant (every host unreachable), or None.

        Such a run is not an audit: nothing was looked at, so no bundle and no ledger line may say one
        happened (and drift against it would be noise).
        """
        facts = self.facts
        if not facts.unreachable or facts.answered:
            return None
        return "; ".join(dict.fromkeys(facts.unreachable.values()))

    @property
    def report(self) -> AuditReport:
        """What the console, JUnit and Maester renderers take."""
        return AuditReport.from_facts(
            self.facts, self.record.playbook, self.results, finished_at=self.record.ended_at
        )


def redacted(results: list[Result]) -> list[Result]:
    """Every text and object a check produced, through the evidence redactor, before anything prints it.

    Checks quote tenant objects; an object read from Graph or ARM could carry a secret-shaped value
    (a key in an action group's webhook URL, a token pasted into a description).
    """
    from drill.evidence._redact import redact, redact_text

    out = []
    for r in results:
        o = r.outcome
        out.append(
            Result(
                r.spec,
                Outcome(
                    o.status,
                    redact_text(o.summary),
                    redact(o.evidence),
                    [redact_text(x) for x in o.offenders],
                    redact(o.details),
                ),
            )
        )
    return out


def new_audit_id(now: datetime) -> str:
    return f"audit-{now.strftime('%Y%m%dT%H%M%SZ')}-{pysecrets.token_hex(3)}"


def empty_facts(playbook: Playbook, now: datetime) -> Facts:
    facts = Facts(tenant_id=str(playbook.tenant.id), read_at=now)
    facts.accounts = [AccountFacts(a.name, str(a.object_id)) for a in playbook.accounts]
    return facts


def verified_entries(ledger_path: Path, pinned: set[str] | None) -> tuple[list[dict[str, Any]], list[str]]:
    """The ledger lines that verify under the pinned key, and the ledger's problems (for the notes)."""
    if not ledger_path.is_file():
        return [], []
    report = ledger.verify(ledger_path, pinned)
    return list(report.verified), list(report.problems)


def last_passes(entries: list[dict[str, Any]], playbook: Playbook) -> dict[str, str | None]:
    """Each account's newest PASS drill end time in this tenant (ISO 8601), None when it never passed."""
    tenant = str(playbook.tenant.id)
    out: dict[str, str | None] = {a.name: None for a in playbook.accounts}
    for entry in entries:
        if entry.get("kind") != ledger.KIND_DRILL or entry.get("verdict") != "PASS":
            continue
        if entry.get("tenant_id") != tenant or entry.get("account") not in out:
            continue
        when = entry.get("ended_at") or entry.get("started_at")
        if isinstance(when, str):
            name = str(entry["account"])
            current = out[name]
            if current is None or when > current:
                out[name] = when
    return out


def previous_audit(entries: list[dict[str, Any]], tenant_id: str) -> dict[str, Any] | None:
    audits = [e for e in entries if e.get("kind") == ledger.KIND_AUDIT and e.get("tenant_id") == tenant_id]
    return audits[-1] if audits else None


def drift(previous: dict[str, Any] | None, results: list[Result]) -> list[DriftItem]:
    """Checks whose status differs from the previous audit's (new checks count as changed from 'absent')."""
    if previous is None:
        return []
    before = previous.get("checks") if isinstance(previous.get("checks"), dict) else {}
    assert isinstance(before, dict)
    out = []
    for r in results:
        was = str(before.get(r.spec.id, "absent"))
        if was != r.status.value:
            out.append(DriftItem(id=r.spec.id, title=r.spec.title, before=was, after=r.status.value))
    for gone in sorted(set(before) - {r.spec.id for r in results}):
        out.append(DriftItem(id=gone, title="(no longer checked)", before=str(before[gone]), after="absent"))
    return out


def to_record(
    audit_id: str,
    playbook: Playbook,
    facts: Facts,
    results: list[Result],
    *,
    started_at: datetime,
    ended_at: datetime,
    previous: dict[str, Any] | None,
    expected_ids: set[str],
) -> AuditRecord:
    checks = [AuditCheck.model_validate(r.as_dict()) for r in results]
    verdict, reason = decide(checks, expected_ids)
    return AuditRecord(
        audit_id=audit_id,
        tenant_id=facts.tenant_id,
        tenant_domain=str(playbook.tenant.primary_domain),
        playbook=str(playbook.source.name) if playbook.source else "",
        tool_version=__version__,
        started_at=started_at,
        read_at=facts.read_at,
        ended_at=ended_at,
        verdict=verdict,
        reason=reason,
        counts={status.value: n for status, n in tally(results).items()},
        checks=checks,
        requests=dict(facts.requests),
        notes=list(facts.notes),
        unread=dict(facts.unread),
        previous_audit=str(previous.get("drill_id")) if previous else None,
        drift=drift(previous, results),
    )


def audit(
    playbook: Playbook,
    readers: list[FactReader],
    *,
    ledger_path: Path,
    pinned: set[str] | None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> AuditRun:
    """Read (every reader, each failure recorded, never raised), then judge. Writes nothing."""
    from drill.audit.catalog import CATALOG

    started = now()
    facts = empty_facts(playbook, started)
    entries, problems = verified_entries(ledger_path, pinned)
    facts.last_pass = last_passes(entries, playbook)
    facts.passed_drills = passed_drills(entries, facts.tenant_id)
    facts.notes += [f"ledger: {p}" for p in problems[:20]]
    facts.notes += card_notes(entries, playbook)
    for reader in readers:
        try:
            reader(facts, playbook)
        except Exception as exc:  # noqa: BLE001 - a reader that breaks leaves its facts unread (fail closed)
            name = getattr(reader, "__name__", type(reader).__name__)
            why = f"{name} broke: {type(exc).__name__}: {str(exc)[:300]}"
            facts.unread[name] = why
            # Which facts it had filled is unknown: none of the tenant's facts may be trusted, so every
            # check that needs one says ERROR instead of judging an empty list as "nothing wrong".
            for fact in TENANT_FACTS:
                facts.unread.setdefault(fact, why)
    results = redacted(judge(facts, playbook))
    record = to_record(
        new_audit_id(started),
        playbook,
        facts,
        results,
        started_at=started,
        ended_at=now(),
        previous=previous_audit(entries, facts.tenant_id),
        expected_ids={spec.id for spec in CATALOG},
    )
    return AuditRun(facts, results, record)


def write(
    run: AuditRun,
    reports_dir: Path,
    signer: Signer,
    *,
    pdf: PdfRenderer | None,
    ledger_path: Path,
    extra_files: Callable[[AuditRecord], dict[str, bytes]] | None = None,
) -> None:
    """The signed bundle and its ledger line (the record was redacted by the bundle writer)."""
    from drill.evidence.audit_bundle import write_audit_bundle
    from drill.evidence.html import render_audit

    run.finished = write_audit_bundle(
        run.record,
        reports_dir,
        signer,
        render_html=render_audit,
        pdf=pdf,
        ledger_path=ledger_path,
        extra_files=extra_files,
        log_lines=[
            {"event": "audit", "audit_id": run.record.audit_id, "verdict": run.record.verdict.value},
            {"event": "requests", **run.facts.requests},
            *({"event": "unread", "fact": k, "reason": v} for k, v in run.facts.unread.items()),
        ],
    )


def default_readers(credential: Any, cloud: Any) -> list[FactReader]:
    """The production readers: Graph (directory, roles, methods, CA, What-If) and ARM + Log Analytics."""
    from drill.audit.read_graph import read_graph_sync
    from drill.audit.read_monitoring import monitoring_reader

    def graph_reader(facts: Facts, playbook: Playbook) -> None:
        read_graph_sync(facts, playbook, credential, cloud)

    return [graph_reader, monitoring_reader(credential, cloud)]
