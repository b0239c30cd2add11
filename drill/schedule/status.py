"""`drill schedule status`: one row per account: last drill, verdict, next due, days left, last daily check.

Read from the same ledger, with the same rules as the scheduler (`drill.schedule.due`), so the table and the
reminders never disagree. Only lines that verify and are signed by the pinned key (the playbook's
`evidence.signing_key`, else this workstation's key) count; anything else is shown above the table as
tampering and counts as no drill, so a forged PASS can never make an account look drilled.

The scheduler's own record (`watch_state`, in its state folder) says when the unplanned-use watch last ran,
which tables it covered, and which ledger line it last wrote: a ledger that no longer holds that line was
rolled back, and then "no unreviewed use" is shown as unknown, never as all clear.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drill.schedule.due import AccountStatus, account_statuses, parse_time
from drill.schedule.watch import unreviewed
from drill.schedule.watch_check import coverage_line
from drill.schedule.watch_state import WatchState, default_state_dir, load, rollback, state_path

if TYPE_CHECKING:
    from rich.console import RenderableType

    from drill.playbook import Playbook


@dataclass(frozen=True)
class StatusRow:
    tenant: str
    status: AccountStatus
    now: datetime

    @property
    def last_drill(self) -> str:
        last = self.status.last_drill
        if not last:
            return "never"
        at = parse_time(last.get("ended_at")) or parse_time(last.get("started_at"))
        return f"{at:%Y-%m-%d} {last.get('drill_id', '')}".strip() if at else str(last.get("drill_id", "?"))

    @property
    def verdict(self) -> str:
        last = self.status.last_drill
        return str(last.get("verdict", "?")) if last else "—"

    @property
    def next_due(self) -> str:
        due = self.status.due_at
        return f"{due:%Y-%m-%d}" if due else "now (no PASS)"

    @property
    def days_left(self) -> str:
        days = self.status.days_left(self.now)
        if days is None:
            return "OVERDUE (never passed)"
        if self.status.overdue(self.now):
            late = max(-days, 0)
            return f"OVERDUE by {late} day{'s' if late != 1 else ''}" if late else "OVERDUE (due today)"
        return f"{days} day{'s' if days != 1 else ''}"

    @property
    def last_keyless(self) -> str:
        """The newest daily check: the posture audit, or (older ledgers) the keyless check."""
        audit = self.status.last_audit
        if audit:
            at = parse_time(audit.get("ended_at"))
            raw = audit.get("checks")
            checks: dict[str, Any] = raw if isinstance(raw, dict) else {}
            failed = [k for k, v in checks.items() if v in ("failed", "error")]
            verdict = "PASS" if audit.get("verdict") == "PASS" else "FAIL"
            shown = ", ".join(failed[:4]) + (" …" if len(failed) > 4 else "")
            text = f"audit {verdict}" + (f" ({shown})" if failed else "")
            return f"{at:%Y-%m-%d %H:%M} {text}" if at else text
        last = self.status.last_keyless
        if not last:
            return "never"
        at = parse_time(last.get("checked_at"))
        failed = [c.get("id", "?") for c in last.get("checks", []) if c.get("status") != "pass"]
        verdict = str(last.get("status", "?")).upper() + (f" ({', '.join(failed)})" if failed else "")
        return f"{at:%Y-%m-%d %H:%M} {verdict}" if at else verdict


@dataclass(frozen=True)
class LedgerStatus:
    path: Path
    rows: list[StatusRow]
    problems: list[str]
    # Unplanned uses (verified lines) with no review yet: shown until `drill review` records one.
    unreviewed: list[Mapping[str, Any]] = field(default_factory=list)
    watch: str = ""  # when the watch last ran and which tables it covered (watch_check.coverage_line)
    rolled_back: str | None = None  # why the ledger no longer holds the scheduler's last head
    watch_state: WatchState | None = None

    @property
    def coverage(self) -> Mapping[str, Any]:
        return self.watch_state.coverage if self.watch_state else {}


def ledger_path_for(playbook: Playbook, override: Path | None) -> Path:
    from drill.evidence.ledger import LEDGER_NAME

    return override if override is not None else playbook.output_dir / LEDGER_NAME


def trust_anchor(playbook: Playbook) -> str | None:
    """The key this playbook's drills sign with: its `evidence.signing_key`, else the workstation's."""
    from drill.evidence.signing import anchor_fingerprint

    return anchor_fingerprint(playbook.signing_key_path())


def collect(
    playbooks: Sequence[Playbook], ledger_override: Path | None, now: datetime, state_dir: Path | None = None
) -> list[LedgerStatus]:
    """One block per playbook: its ledger's verification problems, the watch's record, one row per account.

    `state_dir`: the scheduler's state folder (default $DRILL_STATE_DIR/schedule).
    """
    from drill.evidence import ledger

    state_dir = state_dir or default_state_dir()
    out = []
    for pb in playbooks:
        path = ledger_path_for(pb, ledger_override)
        anchor = trust_anchor(pb)
        problems: list[str] = []
        entries: list[dict[str, Any]] = []
        report = None
        if path.exists():
            report = ledger.verify(path, {anchor} if anchor else set())
            problems, entries = report.problems, report.verified
            if anchor is None and report.entries:
                problems.insert(
                    0, f"{path}: no evidence signing key on this workstation to pin; no line counts"
                )
        statuses = account_statuses(
            entries, str(pb.tenant.id), [a.name for a in pb.accounts], pb.schedule.cycle_days
        )
        rows = [StatusRow(pb.tenant.primary_domain, s, now) for s in statuses]
        where = state_path(state_dir, str(pb.tenant.id), path)
        state, state_problem = load(where, {anchor} if anchor else set())
        gone = rollback(state, report) if state is not None else None
        watch = coverage_line(state, state_problem, where)
        uses = unreviewed(entries, str(pb.tenant.id))
        out.append(LedgerStatus(path, rows, problems, uses, watch, gone, state))
    return out


def render(blocks: Sequence[LedgerStatus], now: datetime) -> list[RenderableType]:
    """Rich renderables: a warning per unverifiable ledger, then the table."""
    from rich.table import Table
    from rich.text import Text

    from drill.evidence._sanitize import clean_text

    out: list[RenderableType] = []
    for block in blocks:
        if block.problems:
            out.append(
                Text(
                    f"WARNING: TAMPERING? {block.path} does not verify ({block.problems[0]}"
                    f"{f'; and {len(block.problems) - 1} more' if len(block.problems) > 1 else ''}). "
                    "Lines that do not verify or are not signed by the pinned key count as no drill. "
                    f"Run `drill verify --ledger {block.path} --trust FINGERPRINT`.",
                    style="bold red",
                )
            )
        if block.rolled_back:
            out.append(Text(clean_text(block.rolled_back), style="bold red"))
        elif block.watch:
            broken = block.watch.startswith("UNPLANNED-USE WATCH")  # its record does not verify
            style = "bold red" if broken else "yellow" if "NOT covered" in block.watch else ""
            out.append(Text(clean_text(block.watch), style=style))
        for use in block.unreviewed:
            # Log-derived text (app names, ids) is hostile input: control characters shown, never acted on.
            c = {k: clean_text(use.get(k)) for k in ("use_id", "what", "at", "source", "correlation_id")}
            who = clean_text(use.get("account") or use.get("account_object_id"))
            out.append(
                Text(
                    f"UNREVIEWED UNPLANNED USE {c['use_id']}: {c['what']} by {who} at {c['at']} "
                    f"({c['source']}, CorrelationId {c['correlation_id']}). Review it: "
                    f"`drill review {c['use_id']} --classification planned-drill|emergency|misuse "
                    "--notes TEXT --playbook PLAYBOOK`.",
                    style="bold red",
                )
            )
    tenants = {row.status.tenant_id: row.tenant for block in blocks for row in block.rows}
    several = len(tenants) > 1
    where = "" if several or not tenants else f" for {next(iter(tenants.values()))}"
    table = Table(title=f"Break-glass drill schedule{where} as of {now:%Y-%m-%d %H:%M} UTC")
    columns = ["Account", "Last drill", "Verdict", "Next due", "Days left", "Last daily check"]
    for column in ["Tenant", *columns] if several else columns:
        table.add_column(column, overflow="fold")
    styles = {"PASS": "green", "FAIL": "red", "INCOMPLETE": "yellow"}
    for block in blocks:
        for row in block.rows:
            overdue = row.status.overdue(now)
            cells: list[RenderableType] = [
                row.status.account,
                row.last_drill,
                Text(row.verdict, style=styles.get(row.verdict, "")),
                row.next_due,
                Text(row.days_left, style="bold red" if overdue else ""),
                Text(row.last_keyless, style="red" if "FAIL" in row.last_keyless else ""),
            ]
            table.add_row(*([row.tenant, *cells] if several else cells))
    out.append(table)
    return out


def as_dicts(blocks: Sequence[LedgerStatus]) -> list[dict[str, Any]]:
    """The table as plain data (`--json`), for dashboards and scripts."""
    return [
        {
            "ledger": str(block.path),
            "ledger_problems": block.problems,
            "tenant": row.tenant,
            "tenant_id": row.status.tenant_id,
            "account": row.status.account,
            "last_drill_id": (row.status.last_drill or {}).get("drill_id"),
            "verdict": (row.status.last_drill or {}).get("verdict"),
            "last_pass_at": row.status.last_pass_at.isoformat() if row.status.last_pass_at else None,
            "next_due": row.status.due_at.isoformat() if row.status.due_at else None,
            "days_left": row.status.days_left(row.now),
            "overdue": row.status.overdue(row.now),
            "last_keyless_check": (row.status.last_keyless or {}).get("checked_at"),
            "last_keyless_status": (row.status.last_keyless or {}).get("status"),
            "last_audit_at": (row.status.last_audit or {}).get("ended_at"),
            "last_audit_verdict": (row.status.last_audit or {}).get("verdict"),
            "unreviewed_unplanned_use": [
                u.get("use_id") for u in block.unreviewed if u.get("account") == row.status.account
            ],
            # Set when the ledger no longer holds the scheduler's last line: the list above is then unknown.
            "ledger_rolled_back": block.rolled_back,
            "watch": block.watch,
            "watch_tables_covered": list(block.coverage.get("read") or []),
            "watch_tables_not_covered": dict(block.coverage.get("not_read") or {}),
        }
        for block in blocks
        for row in block.rows
    ]
