"""The unplanned-use watch: every break-glass sign-in or directory change must belong to a drill.

A break-glass account used outside a drill is exactly what the whole design exists to catch: an emergency,
or misuse. Azure Monitor's alert rules are the first net; this is the second, owned by the tool: the daily
check asks the workspace for the accounts' activity and matches each row against the drills in the ledger:
a row is planned only inside a drill's own window, for the drilled account, and, when it carries a
CorrelationId a drill recorded, only for that drill (`planned_by`: the id is the client's choice, so it is
never enough alone). What matches nothing becomes a signed "unplanned use" ledger line, and each check sends
one critical notice for the uses it found. Microsoft asks for a post-use review of each use (planned drill,
actual emergency, or misuse); `drill review` records it, and until then the use shows in
`drill schedule status`.

The tables read are SigninLogs, AuditLogs and, because a stolen refresh token is redeemed without any
interactive sign-in, AADNonInteractiveUserSignInLogs, each only when the Entra diagnostic setting sends its
category to the workspace (`Coverage`); a table not read is said, never skipped silently.

Only verified ledger lines (pinned key) count, for drills as for earlier unplanned uses: a forged drill
line cannot hide a use, and a forged review cannot close one. The ledger is the state: a use already
ledgered is not ledgered again after a restart; its notice is deduplicated by the scheduler's sent store.

Activity newer than `SETTLE` is left for the next check: a drill still running has no ledger line yet.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from drill.evidence.ledger import KIND_DRILL, KIND_REVIEW, KIND_UNPLANNED_USE
from drill.schedule.due import parse_time

LOOKBACK = timedelta(days=3)  # each daily check looks this far back (a missed day or two is covered)
SETTLE = timedelta(hours=2)  # longer than any drill (its waits are bounded by the playbook's SLAs)
DRILL_SLACK = timedelta(minutes=10)  # rows a drill caused just before its start or after its end
Classification = Literal["planned-drill", "emergency", "misuse"]
CLASSIFICATIONS: tuple[str, ...] = ("planned-drill", "emergency", "misuse")


SIGNINS, NONINTERACTIVE, AUDITS = "SigninLogs", "AADNonInteractiveUserSignInLogs", "AuditLogs"
# Each table the watch reads, and the Entra diagnostic-setting category that fills it.
CATEGORY_OF = {SIGNINS: "SignInLogs", NONINTERACTIVE: "NonInteractiveUserSignInLogs", AUDITS: "AuditLogs"}
REQUIRED = (SIGNINS, AUDITS)  # without these the watch is blind to sign-ins or changes: the check fails


@dataclass(frozen=True)
class Activity:
    """One row of a break-glass account's activity, from one of the watched tables."""

    source: str  # the table: SigninLogs | AADNonInteractiveUserSignInLogs | AuditLogs
    row_id: str
    correlation_id: str
    at: datetime  # TimeGenerated (the event's own time)
    user_id: str
    what: str  # "Sign-in to <app> (result 0)" / "Update group"

    @property
    def use_id(self) -> str:
        """A short, stable id for `drill review` (the same row always gives the same id)."""
        return "U" + hashlib.sha256(f"{self.source}:{self.row_id}".encode()).hexdigest()[:11]


@dataclass(frozen=True)
class Coverage:
    """Which tables a check read, and why each other one was not read."""

    read: tuple[str, ...]
    not_read: Mapping[str, str] = field(default_factory=dict)  # table -> why

    @property
    def blind(self) -> list[str]:
        """Required tables not read: the check cannot say there was no use."""
        return [t for t in REQUIRED if t not in self.read]

    def as_dict(self) -> dict[str, Any]:
        return {"read": list(self.read), "not_read": dict(self.not_read)}


def coverage_of(sent: Iterable[str] | None, why_unknown: str = "") -> Coverage:
    """The tables to read given the categories the Entra diagnostic setting sends to the workspace.

    `sent` None: the setting could not be read (`why_unknown`); the required tables are read as before
    (the drill's preflight checks their setting) and the non-interactive table is reported not covered.
    """
    if sent is None:
        category = CATEGORY_OF[NONINTERACTIVE]
        why = f"whether an Entra diagnostic setting sends {category} is unknown ({why_unknown})"
        return Coverage(REQUIRED, {NONINTERACTIVE: why})
    categories = {c.lower() for c in sent}
    read = tuple(t for t in CATEGORY_OF if CATEGORY_OF[t].lower() in categories)
    missing = {
        t: f"no Entra diagnostic setting sends {CATEGORY_OF[t]} to the workspace"
        for t in CATEGORY_OF
        if t not in read
    }
    return Coverage(read, missing)


@dataclass(frozen=True)
class Reading:
    """What one watch read: the rows and the tables they came from."""

    rows: list[Activity]
    coverage: Coverage


class ActivityProbe(Protocol):
    """Reads the accounts' activity from the workspace; may raise (the check records the failure)."""

    def activity(self, user_ids: Sequence[str], since: datetime, until: datetime) -> Reading: ...


_WHAT = {
    SIGNINS: "strcat('Sign-in to ', AppDisplayName, ' (result ', ResultType, ')')",
    NONINTERACTIVE: "strcat('Non-interactive sign-in to ', AppDisplayName, ' (result ', ResultType, ')')",
    AUDITS: "OperationName",
}


def activity_query(user_ids: Sequence[str], tables: Sequence[str] = (SIGNINS, AUDITS)) -> str:
    """KQL over the given tables, matched on object ids (passkey sign-ins can log the id as the UPN)."""
    ids = ", ".join(f"'{u}'" for u in user_ids)
    lets, names = [f"let Ids = dynamic([{ids}]);"], []
    for n, table in enumerate(t for t in CATEGORY_OF if t in tables):
        source = table
        if table == AUDITS:
            source = f"{table} | extend UserId = tostring(InitiatedBy.user.id)"
        lets.append(
            f"let T{n} = {source} | where UserId in (Ids)\n    | project Source = '{table}', Id, "
            f"CorrelationId, TimeGenerated, UserId, What = {_WHAT[table]};"
        )
        names.append(f"T{n}")
    if not names:
        raise ValueError("no table to read")
    return "\n".join([*lets, f"union {', '.join(names)}", "| sort by TimeGenerated asc"])


def _drills(entries: Iterable[Mapping[str, Any]], tenant_id: str) -> list[Mapping[str, Any]]:
    return [e for e in entries if e.get("kind") == KIND_DRILL and e.get("tenant_id") == tenant_id]


def planned_by(
    activity: Activity, drills: Sequence[Mapping[str, Any]], account_of: Mapping[str, str]
) -> Mapping[str, Any] | None:
    """The drill this activity belongs to, or None (unplanned).

    A row belongs to a drill only inside that drill's own window (plus slack) and for the drilled account
    (the row's user id is that account's object id). A client chooses its own CorrelationId
    (`client-request-id`), and drill ids and their CorrelationIds are readable in the ledger and reports,
    so an id alone proves nothing: a row carrying a CorrelationId some drill recorded belongs to that drill
    only (in its window, for its account), never to another; a row whose id no drill recorded (interrupts,
    the restore, the session revocation) needs only the window and the account.
    """
    name = account_of.get(activity.user_id)
    if name is None:
        return None
    cid = activity.correlation_id
    owners = [d for d in drills if cid and cid in (d.get("correlation_ids") or [])]
    for drill in owners or drills:
        if drill.get("account") == name and _in_window(activity.at, drill):
            return drill
    return None


def _in_window(at: datetime, drill: Mapping[str, Any]) -> bool:
    start = parse_time(drill.get("started_at"))
    end = parse_time(drill.get("ended_at")) or start
    return start is not None and end is not None and start - DRILL_SLACK <= at <= end + DRILL_SLACK


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
