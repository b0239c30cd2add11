"""The unplanned-use watch: every break-glass sign-in or directory change must belong to a drill.

A break-glass account used outside a drill is exactly what the whole design exists to catch: an emergency,
or misuse. Azure Monitor's alert rules are the first net; this is the second, owned by the tool: the daily
check asks SigninLogs and AuditLogs for the accounts' activity and matches each row against the drills in
the ledger, by the CorrelationIds their evidence recorded and by their time window (rows a drill causes
without a recorded id: interrupts, the restore, the session revocation). What matches nothing becomes a
signed "unplanned use" ledger line and one critical notice. Microsoft asks for a post-use review of each
use (planned drill, actual emergency, or misuse); `drill review` records it, and until then the use shows
in `drill schedule status`.

Only verified ledger lines (pinned key) count, for drills as for earlier unplanned uses: a forged drill
line cannot hide a use, and a forged review cannot close one. The ledger is the state: a use already
ledgered is not ledgered again after a restart; its notice is deduplicated by the scheduler's sent store.

Activity newer than `SETTLE` is left for the next check: a drill still running has no ledger line yet.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from drill.evidence.ledger import KIND_DRILL, KIND_REVIEW, KIND_UNPLANNED_USE
from drill.schedule.due import parse_time

LOOKBACK = timedelta(days=3)  # each daily check looks this far back (a missed day or two is covered)
SETTLE = timedelta(hours=2)  # longer than any drill (its waits are bounded by the playbook's SLAs)
DRILL_SLACK = timedelta(minutes=10)  # rows a drill caused just before its start or after its end
Classification = Literal["planned-drill", "emergency", "misuse"]
CLASSIFICATIONS: tuple[str, ...] = ("planned-drill", "emergency", "misuse")


@dataclass(frozen=True)
class Activity:
    """One row of a break-glass account's activity, from SigninLogs or AuditLogs."""

    source: str  # "SigninLogs" | "AuditLogs"
    row_id: str
    correlation_id: str
    at: datetime  # TimeGenerated (the event's own time)
    user_id: str
    what: str  # "Sign-in to <app> (result 0)" / "Update group"

    @property
    def use_id(self) -> str:
        """A short, stable id for `drill review` (the same row always gives the same id)."""
        return "U" + hashlib.sha256(f"{self.source}:{self.row_id}".encode()).hexdigest()[:11]


class ActivityProbe(Protocol):
    """Reads the accounts' activity from the workspace; may raise (the check records the failure)."""

    def activity(self, user_ids: Sequence[str], since: datetime, until: datetime) -> list[Activity]: ...


def activity_query(user_ids: Sequence[str]) -> str:
    """KQL for both tables, matched on object ids (passkey sign-ins can log the id in the UPN column)."""
    ids = ", ".join(f"'{u}'" for u in user_ids)
    return (
        f"let Ids = dynamic([{ids}]);\n"
        "let S = SigninLogs | where UserId in (Ids)\n"
        "    | project Source = 'SigninLogs', Id, CorrelationId, TimeGenerated, UserId,\n"
        "              What = strcat('Sign-in to ', AppDisplayName, ' (result ', ResultType, ')');\n"
        "let A = AuditLogs | extend UserId = tostring(InitiatedBy.user.id) | where UserId in (Ids)\n"
        "    | project Source = 'AuditLogs', Id, CorrelationId, TimeGenerated, UserId,\n"
        "              What = OperationName;\n"
        "union S, A\n"
        "| sort by TimeGenerated asc"
    )


def _drills(entries: Iterable[Mapping[str, Any]], tenant_id: str) -> list[Mapping[str, Any]]:
    return [e for e in entries if e.get("kind") == KIND_DRILL and e.get("tenant_id") == tenant_id]


def planned_by(
    activity: Activity, drills: Sequence[Mapping[str, Any]], account_of: Mapping[str, str]
) -> Mapping[str, Any] | None:
    """The drill this activity belongs to: its CorrelationId is in the drill's evidence, or it happened
    to the drilled account inside the drill's window (plus slack). None: unplanned."""
    for drill in drills:
        if activity.correlation_id and activity.correlation_id in (drill.get("correlation_ids") or []):
            return drill
    name = account_of.get(activity.user_id)
    for drill in drills:
        start = parse_time(drill.get("started_at"))
        end = parse_time(drill.get("ended_at")) or start
        if name is None or drill.get("account") != name or start is None or end is None:
            continue
        if start - DRILL_SLACK <= activity.at <= end + DRILL_SLACK:
            return drill
    return None


def unplanned_entry(tenant_id: str, activity: Activity, account: str | None, now: datetime) -> dict[str, Any]:
    """The unplanned-use ledger line (the ledger adds sequence, chain and signature)."""
    return {
        "kind": KIND_UNPLANNED_USE,
        "use_id": activity.use_id,
        "tenant_id": tenant_id,
        "account": account,
        "account_object_id": activity.user_id,
        "source": activity.source,
        "row_id": activity.row_id,
        "correlation_id": activity.correlation_id,
        "at": activity.at.isoformat(),
        "what": activity.what,
        "detected_at": now.isoformat(),
    }


def review_entry(
    tenant_id: str, use_id: str, classification: str, notes: str, reviewer: str, now: datetime
) -> dict[str, Any]:
    """The post-use review line of one unplanned use."""
    if classification not in CLASSIFICATIONS:
        raise ValueError(f"classification must be one of {', '.join(CLASSIFICATIONS)}")
    return {
        "kind": KIND_REVIEW,
        "use_id": use_id,
        "tenant_id": tenant_id,
        "classification": classification,
        "notes": notes,
        "reviewer": reviewer,
        "reviewed_at": now.isoformat(),
    }


def unplanned_uses(entries: Iterable[Mapping[str, Any]], tenant_id: str) -> list[Mapping[str, Any]]:
    """Verified unplanned-use lines of the tenant, first occurrence of each use only."""
    seen: set[str] = set()
    out = []
    for e in entries:
        if e.get("kind") == KIND_UNPLANNED_USE and e.get("tenant_id") == tenant_id:
            use = str(e.get("use_id"))
            if use not in seen:
                seen.add(use)
                out.append(e)
    return out


def unreviewed(entries: Sequence[Mapping[str, Any]], tenant_id: str) -> list[Mapping[str, Any]]:
    """Unplanned uses with no review line yet (both from verified lines only)."""
    reviewed = {
        str(e.get("use_id"))
        for e in entries
        if e.get("kind") == KIND_REVIEW and e.get("tenant_id") == tenant_id
    }
    return [u for u in unplanned_uses(entries, tenant_id) if str(u.get("use_id")) not in reviewed]


def find_unplanned(
    activities: Iterable[Activity],
    entries: Sequence[Mapping[str, Any]],
    tenant_id: str,
    account_of: Mapping[str, str],
) -> list[Activity]:
    """Activity matching no drill and not already ledgered as an unplanned use (one per row)."""
    drills = _drills(entries, tenant_id)
    known = {str(u.get("use_id")) for u in unplanned_uses(entries, tenant_id)}
    out: list[Activity] = []
    for activity in activities:
        if activity.use_id in known or planned_by(activity, drills, account_of) is not None:
            continue
        known.add(activity.use_id)
        out.append(activity)
    return out


def record_review(
    ledger_path: Any,
    tenant_id: str,
    use_id: str,
    classification: str,
    notes: str,
    reviewer: str,
    signer: Any,
    now: datetime,
) -> dict[str, Any]:
    """Append the review of one unplanned use, signed like every ledger line; DrillUserError when the use
    is unknown (among verified lines), already reviewed, or the input is unusable."""
    from drill.errors import DrillUserError
    from drill.evidence import ledger

    if classification not in CLASSIFICATIONS:
        raise DrillUserError(f"--classification {classification!r}: use one of {', '.join(CLASSIFICATIONS)}")
    if not notes.strip():
        raise DrillUserError(
            "--notes is empty: say what happened and what was checked (Microsoft's post-use review)"
        )
    if not ledger_path.exists():
        raise DrillUserError(
            f"{ledger_path}: no ledger here; pass --ledger, or the playbook whose ledger it is"
        )
    report = ledger.verify(ledger_path, {signer.fingerprint})
    uses = {str(u.get("use_id")): u for u in unplanned_uses(report.verified, tenant_id)}
    if use_id not in uses:
        raise DrillUserError(
            f"{use_id}: no unplanned use with this id in {ledger_path} (among lines signed by this "
            "workstation's evidence key); `drill schedule status PLAYBOOK` lists the unreviewed ones"
        )
    done = [e for e in report.verified if e.get("kind") == KIND_REVIEW and e.get("use_id") == use_id]
    if done:
        raise DrillUserError(
            f"{use_id} was already reviewed at {done[0].get('reviewed_at')} "
            f"as {done[0].get('classification')}"
        )
    return ledger.append(
        ledger_path, review_entry(tenant_id, use_id, classification, notes, reviewer, now), signer
    )
