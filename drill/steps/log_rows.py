"""Step: the sign-in reached Log Analytics, looks right, and the alert rule's own query sees it.

Matching is on UserId (passwordless rows can carry the object id where the UPN would be) and on the drill
app, created after the sign-in started. Times come from the row itself: CreatedDateTime (the sign-in),
TimeGenerated (ingestion) and when this runner first saw it.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

from drill.evidence.model import StepResult
from drill.isotime import parse_utc, utc_z
from drill.steps.base import StepBuilder, utcnow
from drill.steps.context import DrillContext
from drill.steps.waiting import poll

NAME, TITLE = "log_rows", "The sign-in is in Log Analytics and the alert query matches it"
APPLIED_RESULTS = {"success", "failure", "reportOnlySuccess", "reportOnlyFailure", "reportOnlyInterrupted"}
PASSKEY_METHODS = {"FIDO2 security key", "Passkey (device-bound)", "FIDO2", "Passkey"}
ROW_COLUMNS = (
    "Id, CorrelationId, CreatedDateTime, TimeGenerated, UserId, AppId, AppDisplayName, ResultType, "
    "ConditionalAccessStatus, ConditionalAccessPolicies, AuthenticationDetails, AuthenticationRequirement"
)


def _as_dt(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    return parse_utc(value if isinstance(value, datetime) else str(value))


def _as_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def signin_query(user_id: str, app_id: str, since: datetime) -> str:
    stamp = utc_z(since)
    return (
        "SigninLogs\n"
        f"| where UserId == '{user_id}'\n"
        f"| where AppId == '{app_id}'\n"
        f"| where CreatedDateTime >= datetime({stamp})\n"
        f"| project {ROW_COLUMNS}\n"
        "| sort by CreatedDateTime asc"
    )


def _rows(result: Any) -> list[dict[str, Any]]:
    tables = getattr(result, "tables", None) or getattr(result, "partial_data", None) or []
    out: list[dict[str, Any]] = []
    for table in tables:
        cols = [c if isinstance(c, str) else c.name for c in table.columns]
        out.extend(dict(zip(cols, row, strict=False)) for row in table.rows)
    return out


def applied_policy_names(row: dict[str, Any]) -> dict[str, str]:
    """Policy id -> display name of every policy that applied, report-only ones included.

    A report-only policy whose conditions matched (reportOnlySuccess/Failure/Interrupted) targets the
    account as surely as an enforced one; only notApplied, notEnabled and reportOnlyNotApplied do not.
    """
    policies = _as_json(row.get("ConditionalAccessPolicies")) or []
    applied = {}
    for p in policies:
        if str(p.get("result", "")) in APPLIED_RESULTS:
            applied[str(p.get("id"))] = str(p.get("displayName", ""))
    return applied


def passkey_used(row: dict[str, Any]) -> tuple[bool, list[str]]:
    details = _as_json(row.get("AuthenticationDetails")) or []
    methods = [str(d.get("authenticationMethod", "")) for d in details if isinstance(d, dict)]
    ok = any(
        str(d.get("authenticationMethod", "")) in PASSKEY_METHODS
        and d.get("succeeded") in (True, "true", "True")
        for d in details
        if isinstance(d, dict)
    )
    return ok, methods


def expected_policy_check(ctx: DrillContext, applied: dict[str, str]) -> tuple[bool, str, dict[str, Any]]:
    want_ids, want_names = set(), set()
    for p in ctx.playbook.conditional_access.expected_policies:
        if p.expect != "applies":
            continue
        if p.id:
            want_ids.add(str(p.id))
        elif p.display_name:
            want_names.add(p.display_name)
    matched = {pid for pid, name in applied.items() if pid in want_ids or name in want_names}
    missing_ids = want_ids - set(applied)
    missing_names = want_names - set(applied.values())
    extra = {pid: name for pid, name in applied.items() if pid not in matched}
    ev = {"applied": applied, "expected_ids": sorted(want_ids), "expected_names": sorted(want_names)}
    if not want_ids and not want_names:
        return False, "the playbook lists no expected break-glass policies to compare with", ev
    problems = []
    if missing_ids or missing_names:
        problems.append(f"expected but not applied: {sorted(missing_ids | missing_names)}")
    if extra:
        problems.append(f"applied but not expected: {sorted(f'{n} ({i})' for i, n in extra.items())}")
    if problems:
        return False, "; ".join(problems), ev
    return True, f"exactly the {len(matched)} break-glass policies applied", ev


async def run(ctx: DrillContext) -> StepResult:
    from azure.core.exceptions import HttpResponseError, ServiceRequestError
    from azure.monitor.query import LogsQueryStatus

    from drill.clients import logs_client

    sb = StepBuilder(NAME, TITLE)
    if ctx.observer is None or ctx.timings.signin_started_at is None:
        return sb.fail("no sign-in to look for (the sign-in step did not run)")
    client = logs_client(ctx.observer, ctx.cloud)
    workspace = str(ctx.playbook.log_analytics.workspace_id)
    since = ctx.timings.signin_started_at - timedelta(seconds=5)
    query = signin_query(str(ctx.account.object_id), str(ctx.playbook.drill_app.client_id), since)
    deadline = float(ctx.playbook.sla.log_row)

    def _query(kql: str) -> Any:
        ctx.counters["logs_queries"] += 1
        # The end is generous on purpose: a clock ahead of ours (or a sped-up simulator) must not hide rows.
        window = (since - timedelta(minutes=5), utcnow() + timedelta(days=1))
        return client.query_workspace(workspace, kql, timespan=window)

    async def probe() -> dict[str, Any] | None:
        result = await asyncio.to_thread(_query, query)
        if result.status == LogsQueryStatus.FAILURE:
            raise RuntimeError(f"query failed: {getattr(result, 'error', '')}")
        rows = _rows(result)
        return rows[0] if rows else None

    outcome = await poll(
        probe,
        deadline,
        on_attempt=lambda n, el: ctx.progress.waiting("the SigninLogs row", el, deadline, n),
        transient=(ServiceRequestError,),
    )
    sb.evidence["query"] = query
    sb.evidence["attempts"] = outcome.attempts
    if outcome.errors:
        sb.evidence["transient_errors"] = outcome.errors[-5:]
    row = outcome.value
    if row is None:
        return sb.fail(
            f"no SigninLogs row for this sign-in after {outcome.waited_s:.0f}s (SLA {deadline:.0f}s): "
            "check the "
            "Entra diagnostic setting sends SignInLogs to this workspace, and ingestion health"
        )
    seen = utcnow()
    created, generated = _as_dt(row.get("CreatedDateTime")), _as_dt(row.get("TimeGenerated"))
    t = ctx.timings
    t.row_created_at, t.row_ingested_at, t.row_seen_at = created, generated, seen
    if created and generated:
        t.ingestion_latency_s = round((generated - created).total_seconds(), 3)
    if generated:
        t.detection_lag_s = round(max(0.0, (seen - generated).total_seconds()), 3)
    if ctx.signin_completed_at:
        t.time_to_row_s = round((seen - ctx.signin_completed_at).total_seconds(), 3)
    excerpt = {
        k: row.get(k)
        for k in (
            "Id",
            "CorrelationId",
            "CreatedDateTime",
            "TimeGenerated",
            "UserId",
            "AppId",
            "AppDisplayName",
            "ResultType",
            "ConditionalAccessStatus",
        )
    }
    sb.check(
        "row_found",
        "SigninLogs row of this sign-in",
        True,
        f"found after {outcome.waited_s:.1f}s",
        {k: str(v) if v is not None else None for k, v in excerpt.items()},
    )
    sb.check(
        "row_success",
        "The row records a successful sign-in",
        str(row.get("ResultType")) == "0",
        f"ResultType {row.get('ResultType')!r}",
    )
    ok_pk, methods = passkey_used(row)
    sb.check(
        "row_passkey",
        "The method was a passkey / FIDO2 key",
        ok_pk,
        "passkey method succeeded" if ok_pk else f"methods recorded: {methods or 'none'}",
        {"methods": methods},
    )
    ok_ca, reason_ca, ev_ca = expected_policy_check(ctx, applied_policy_names(row))
    sb.check(
        "row_ca_policies",
        "Exactly the break-glass Conditional Access policies applied",
        ok_ca,
        reason_ca,
        ev_ca,
    )
    if not ok_ca:
        ctx.finding("warning", "Conditional Access drift", reason_ca, NAME)

    # The alert rule's own query must see this sign-in over the drill window.
    query_path = ctx.playbook.alert_query_path
    try:
        alert_kql = query_path.read_text(encoding="utf-8")
    except OSError as exc:
        sb.check(
            "alert_query",
            "The alert rule's query returns this sign-in",
            False,
            f"cannot read {query_path}: {exc}",
        )
        return sb.finish()
    try:
        result = await asyncio.to_thread(_query, alert_kql)
    except HttpResponseError as exc:
        sb.check(
            "alert_query",
            "The alert rule's query returns this sign-in",
            False,
            f"Log Analytics refused the alert query: {exc.message.splitlines()[0] if exc.message else exc}",
        )
        return sb.finish()
    rows = _rows(result)
    ids = {str(row.get("Id")), str(row.get("CorrelationId")), str(ctx.account.object_id)}
    hits = [r for r in rows if any(str(v) in ids or any(i in str(v) for i in ids) for v in r.values())]
    sb.check(
        "alert_query",
        "The alert rule's query returns this sign-in",
        bool(hits),
        f"{len(hits)} of {len(rows)} result rows mention this sign-in"
        if hits
        else f"the alert query returned {len(rows)} rows, none for this account or sign-in: "
        "the rule would not fire",
        {"file": str(query_path.name), "rows": len(rows), "matching_rows": len(hits)},
    )
    return sb.finish("row present, passkey, expected policies, alert query matches")
