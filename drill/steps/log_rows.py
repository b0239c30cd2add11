"""Step: the sign-in reached Log Analytics, looks right, and the alert rule's own query sees it.

Matching is on UserId (passwordless rows can carry the object id where the UPN would be) and on the drill
app, created after the sign-in started (on the tenant's clock). One interactive sign-in can write several
rows with one CorrelationId: interrupt rows such as 50140 ("Stay signed in?") before the success, and the
same row twice. So the step waits for the *success* row; benign interrupt rows are recorded as evidence,
duplicates (same Id) are folded into the first arrival, and a failure row with no success after it fails
the step naming the code and what it means. Times come from the rows: CreatedDateTime (the sign-in),
ingestion_time() projected in the query (arrival), and when this runner first saw it.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

from drill.evidence.model import StepResult
from drill.fidelity import note_rows
from drill.isotime import parse_utc, utc_z
from drill.steps.base import StepBuilder, utcnow
from drill.steps.context import DrillContext
from drill.steps.waiting import ServiceRefused, call_within, poll

NAME, TITLE = "log_rows", "The sign-in is in Log Analytics and the alert query matches it"
APPLIED_RESULTS = {"success", "failure", "reportOnlySuccess", "reportOnlyFailure", "reportOnlyInterrupted"}
PASSKEY_METHODS = {"FIDO2 security key", "Passkey (device-bound)", "FIDO2", "Passkey"}
ROW_COLUMNS = (
    "Id, CorrelationId, CreatedDateTime, TimeGenerated, Ingested, UserId, AppId, AppDisplayName, "
    "ResultType, ResultDescription, ConditionalAccessStatus, ConditionalAccessPolicies, "
    "AuthenticationDetails, AuthenticationRequirement, UserPrincipalName"
)
# Interrupts Sentinel's ConditionalAccessBenignStatusCodes watchlist treats as benign: a row with one of
# these before the success row is part of a normal sign-in.
BENIGN = {
    "50074": "strong authentication required (MFA interrupt)",
    "50076": "MFA required by a configuration change",
    "50097": "device authentication required",
    "50125": "password reset or registration interrupt",
    "50140": "'Keep me signed in' interrupt",
    "70043": "refresh token expired by sign-in frequency",
    "700082": "refresh token expired by inactivity",
}
# What a failure code means, for a reason that says what to fix (entra-docs reference-error-codes).
MEANINGS = {
    "50053": "account locked (too many attempts, or sign-in from a blocked IP)",
    "50055": "password expired",
    "50057": "the user account is disabled",
    "50058": "session information not sufficient for single sign-on",
    "50072": "the user must enrol a second factor",
    "50079": "the user must enrol in multifactor authentication",
    "50126": "invalid username or password",
    "50131": "Conditional Access failure (device state, suspicious activity, ...)",
    "50158": "external security challenge not satisfied",
    "53000": "Conditional Access requires a compliant device",
    "53001": "Conditional Access requires a domain-joined device",
    "53003": "blocked by Conditional Access",
    "53004": "the user must complete MFA registration",
    "530035": "blocked by security defaults",
    "500121": "authentication failed during the strong authentication request",
    **BENIGN,
}


def meaning(code: str) -> str:
    return MEANINGS.get(code, "see Microsoft's AADSTS error code reference")


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
        "| extend Ingested = ingestion_time()\n"
        f"| project {ROW_COLUMNS}\n"
        "| sort by CreatedDateTime asc"
    )


def result_rows(result: Any) -> list[dict[str, Any]]:
    """A Log Analytics result's rows as column -> value, a partial result's rows included (every step that
    reads the workspace judges those through its own status check)."""
    tables = getattr(result, "tables", None) or getattr(result, "partial_data", None) or []
    out: list[dict[str, Any]] = []
    for table in tables:
        cols = [c if isinstance(c, str) else c.name for c in table.columns]
        out.extend(dict(zip(cols, row, strict=False)) for row in table.rows)
    return out


def workspace_query(ctx: DrillContext, observer: Any, since: datetime) -> Any:
    """A function running KQL (counted) on the playbook's workspace with one client: over `span` when given,
    else over [since - 5 min, a day past now].

    That default end is generous on purpose: a tenant clock ahead of ours (or a sped-up simulator) must not
    hide rows. Shared by every wait for a row of this drill (the sign-in, the admin task's write).
    """
    from drill.clients import logs_client

    client = logs_client(observer, ctx.cloud)
    workspace = str(ctx.playbook.log_analytics.workspace_id)

    def run(kql: str, span: tuple[datetime, datetime] | None = None) -> Any:
        ctx.counters["logs_queries"] += 1
        window = span or (since - timedelta(minutes=5), ctx.skew.tenant_time(utcnow()) + timedelta(days=1))
        return client.query_workspace(workspace, kql, timespan=window)

    return run


def answered_rows(result: Any) -> list[dict[str, Any]]:
    """A query's rows, duplicates folded; a failed query raises, so the wait treats it as transient."""
    from azure.monitor.query import LogsQueryStatus

    if result.status == LogsQueryStatus.FAILURE:
        raise RuntimeError(f"query failed: {getattr(result, 'error', '')}")
    rows, _folded = fold(result_rows(result))
    return rows


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


def fold(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Rows by Id, each at its first arrival (duplicates folded); returns them and how many were folded."""
    by_id: dict[str, dict[str, Any]] = {}
    for row in rows:
        key = str(row.get("Id"))
        first = by_id.get(key)
        if first is None:
            by_id[key] = dict(row, _copies=1)
            continue
        first["_copies"] += 1
        arrived, other = _as_dt(first.get("Ingested")), _as_dt(row.get("Ingested"))
        if other and (arrived is None or other < arrived):
            first["Ingested"] = row.get("Ingested")
    folded = sorted(
        by_id.values(), key=lambda r: (_as_dt(r.get("CreatedDateTime")) or datetime.max, str(r["Id"]))
    )
    return folded, len(rows) - len(folded)


def _created_order(row: dict[str, Any]) -> tuple[str, str]:
    created = _as_dt(row.get("CreatedDateTime"))
    return (utc_z(created) if created else "~", str(row.get("Id")))


def pick_success(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first success row (ResultType "0") among folded rows."""
    return next((r for r in rows if str(r.get("ResultType")) == "0"), None)


def failure_reason(rows: list[dict[str, Any]]) -> str | None:
    """Why rows without a success row are a FAIL: the last failure, its code and meaning."""
    failures = [r for r in rows if str(r.get("ResultType")) not in ("0", "")]
    if not failures:
        return None
    last = failures[-1]
    code = str(last.get("ResultType"))
    kind = "an interrupt" if code in BENIGN else "a failure"
    return (
        f"the sign-in's rows end with {kind}, AADSTS{code} ({meaning(code)}), and no success row after it "
        f"(CorrelationId {last.get('CorrelationId')}): the sign-in did not complete as Entra logged it; "
        "check the account, its Conditional Access policies and the sign-in log entry"
    )


def row_shapes(group: list[dict[str, Any]], account: Any) -> dict[str, str]:
    """For a fidelity pack: how one sign-in's rows stand in time (`50140<0`, `0=50140`) and what its
    success row carries in UserPrincipalName (the account's `object-id`, its `upn`, or `other`)."""
    ordered = sorted(group, key=lambda r: (_created_order(r)[0], str(r.get("ResultType"))))
    order = ""
    for i, r in enumerate(ordered):
        if i:
            same = _created_order(r)[0] == _created_order(ordered[i - 1])[0]
            order += "=" if same else "<"
        order += str(r.get("ResultType"))
    upn = str(group[0].get("UserPrincipalName") or "").lower()
    kind = (
        "object-id"
        if upn == str(account.object_id).lower()
        else "upn"
        if upn == str(account.upn).lower()
        else "other"
    )
    return {"order": order, "user_principal_name": kind}


def _row_evidence(row: dict[str, Any]) -> dict[str, Any]:
    code = str(row.get("ResultType"))
    return {
        "Id": row.get("Id"),
        "CorrelationId": row.get("CorrelationId"),
        "CreatedDateTime": str(row.get("CreatedDateTime")),
        "Ingested": str(row.get("Ingested")),
        "ResultType": code,
        "meaning": "success" if code == "0" else meaning(code),
        "copies": row.get("_copies", 1),
    }


async def run(ctx: DrillContext) -> StepResult:
    sb = StepBuilder(NAME, TITLE)
    if ctx.observer is None or ctx.timings.signin_started_at is None:
        return sb.fail("no sign-in to look for (the sign-in step did not run)")
    # The tenant stamps CreatedDateTime with its clock: shift our start by the measured skew.
    since = ctx.skew.tenant_time(ctx.timings.signin_started_at) - timedelta(seconds=5)
    query = signin_query(str(ctx.account.object_id), str(ctx.playbook.drill_app.client_id), since)
    deadline = float(ctx.playbook.sla.log_row)
    latest: list[list[dict[str, Any]]] = [[]]

    _query = workspace_query(ctx, ctx.observer, since)

    async def probe() -> dict[str, Any] | None:
        rows = answered_rows(await asyncio.to_thread(_query, query))
        latest[0] = rows
        return pick_success(rows)

    sb.evidence["query"] = query
    sb.evidence["clock_skew_s"] = ctx.skew.offset_s
    if ctx.diagnostic_setting_unread:
        sb.evidence["proves_diagnostic_setting"] = "SignInLogs reach the workspace (setting not readable)"
    try:
        outcome = await poll(
            probe,
            deadline,
            on_attempt=lambda n, el: ctx.progress.waiting("the SigninLogs row", el, deadline, n),
        )
    except ServiceRefused as exc:
        return sb.fail(f"Log Analytics refused the query (HTTP {exc.status}): {exc.message}")
    sb.evidence["attempts"] = outcome.attempts
    sb.evidence["transient_errors"] = outcome.errors[:50]
    sb.evidence["transient_error_count"] = outcome.transient_count
    rows = latest[0]
    sb.evidence["rows"] = [_row_evidence(r) for r in rows[:20]]
    row = outcome.value
    if row is None:
        why = failure_reason(rows)
        if why:
            return sb.fail(why)
        throttled = (
            f"; {outcome.error_summary()} from Log Analytics during the wait" if outcome.errors else ""
        )
        return sb.fail(
            f"no SigninLogs row for this sign-in after {outcome.waited_s:.0f}s (SLA {deadline:.0f}s)"
            f"{throttled}: check the Entra diagnostic setting sends SignInLogs to this workspace, "
            "and ingestion health"
        )
    seen_local = utcnow()
    seen = ctx.skew.tenant_time(seen_local)
    created, arrived = _as_dt(row.get("CreatedDateTime")), _as_dt(row.get("Ingested"))
    t = ctx.timings
    t.row_created_at, t.row_ingested_at, t.row_seen_at = created, arrived, seen
    if created and arrived:
        t.ingestion_latency_s = round((arrived - created).total_seconds(), 3)
    if arrived:
        t.detection_lag_s = round(max(0.0, (seen - arrived).total_seconds()), 3)
    if ctx.signin_completed_at:
        t.time_to_row_s = round((seen_local - ctx.signin_completed_at).total_seconds(), 3)
    ctx.signin_row = {k: row.get(k) for k in ("Id", "CorrelationId", "CreatedDateTime", "TimeGenerated")}
    same = [r for r in rows if r.get("CorrelationId") == row.get("CorrelationId") and r is not row]
    note_rows("SigninLogs", rows, row_shapes([row, *same], ctx.account))
    interrupts = [r for r in same if str(r.get("ResultType")) in BENIGN]
    others = [r for r in same if r not in interrupts and str(r.get("ResultType")) != "0"]
    excerpt = {
        k: row.get(k)
        for k in (
            "Id",
            "CorrelationId",
            "CreatedDateTime",
            "TimeGenerated",
            "Ingested",
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
        f"found after {outcome.waited_s:.1f}s"
        + (f" ({outcome.transient_count} transient errors absorbed)" if outcome.errors else ""),
        {k: str(v) if v is not None else None for k, v in excerpt.items()},
    )
    sb.check(
        "row_success",
        "The row records a successful sign-in",
        str(row.get("ResultType")) == "0",
        f"ResultType {row.get('ResultType')!r}",
    )
    dups = int(row.get("_copies", 1)) - 1
    notes = []
    if interrupts:
        notes.append(
            "interrupt rows before the success (benign): "
            + ", ".join(f"{r.get('ResultType')} ({meaning(str(r.get('ResultType')))})" for r in interrupts)
        )
    if others:
        notes.append(
            "other rows of this sign-in: "
            + ", ".join(f"{r.get('ResultType')} ({meaning(str(r.get('ResultType')))})" for r in others)
        )
    if dups:
        notes.append(f"the success row arrived {dups + 1} times (duplicates folded; latency from the first)")
    sb.check(
        "row_group",
        "Every row of this sign-in (same CorrelationId) accounted for",
        True,
        "; ".join(notes) or "one row",
        {
            "interrupts": [_row_evidence(r) for r in interrupts],
            "others": [_row_evidence(r) for r in others],
            "duplicates": dups,
        },
        required=False,
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

    # The alert rule's own query must see this sign-in. With the deployed rules read from ARM (preflight),
    # their queries run over each rule's own window around the row's arrival; the playbook's copy is then an
    # expectation only (issue 13). Without them, the copy is what is checked.
    deployed = dict(ctx.deployed_rules)
    for ref, rule in deployed.items():
        await _deployed_rule_check(ctx, sb, ref, rule, _query, max(5.0, deadline - outcome.waited_s))
    query_path = ctx.playbook.alert_query_path
    title = "The playbook's copy of the alert query returns this sign-in"
    try:
        alert_kql = query_path.read_text(encoding="utf-8")
    except OSError as exc:
        sb.check("alert_query", title, False, f"cannot read {query_path}: {exc}", required=not deployed)
        return sb.finish()
    try:
        result, errors = await call_within(
            lambda: asyncio.to_thread(_query, alert_kql), max(5.0, deadline - outcome.waited_s)
        )
        if errors:
            sb.evidence["alert_query_transient_errors"] = errors[:20]
    except ServiceRefused as exc:
        sb.check(
            "alert_query",
            title,
            False,
            f"Log Analytics refused the alert query (HTTP {exc.status}): {exc.message}",
            required=not deployed,
        )
        return sb.finish()
    rows = result_rows(result)
    hits = _hits(ctx, rows)
    sb.check(
        "alert_query",
        title,
        bool(hits),
        f"{len(hits)} of {len(rows)} result rows mention this sign-in"
        if hits
        else f"the alert query returned {len(rows)} rows, none for this account or sign-in: "
        "the rule would not fire",
        {"file": str(query_path.name), "rows": len(rows), "matching_rows": len(hits)},
        required=not deployed,
    )
    return sb.finish("row present, passkey, expected policies, alert query matches")


def _hits(ctx: DrillContext, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Result rows that name this sign-in (its Id or CorrelationId) or this account's object id."""
    ids = {
        str(ctx.signin_row.get("Id")),
        str(ctx.signin_row.get("CorrelationId")),
        str(ctx.account.object_id),
    }
    ids.discard("None")
    return [r for r in rows if any(str(v) in ids or any(i in str(v) for i in ids) for v in r.values())]


def rule_window(rule: Any, row_time: datetime, arrived: datetime) -> tuple[datetime, datetime]:
    """The evaluation window of `rule` that first sees the row: ending when it arrived, or at the last end
    whose window still holds its TimeGenerated if it arrived later than that (lateness is the alert step's
    finding, with Azure's retries; here the question is whether the rule's query returns the row)."""
    size = rule.window_size or timedelta(minutes=5)
    end = min(max(arrived, row_time), row_time + size)
    return end - size, end


async def _deployed_rule_check(
    ctx: DrillContext, sb: StepBuilder, ref: str, rule: Any, query_span: Any, budget: float
) -> None:
    check_id, title = f"deployed_rule_query:{ref}", f"The deployed rule {ref} returns this sign-in"
    row_time = _as_dt(ctx.signin_row.get("TimeGenerated"))
    arrived = ctx.timings.row_ingested_at or row_time
    if row_time is None or arrived is None:
        sb.check(check_id, title, False, "no TimeGenerated on the sign-in row to place the rule's window")
        return
    start, end = rule_window(rule, row_time, arrived)
    try:
        result, _errors = await call_within(
            lambda: asyncio.to_thread(query_span, rule.query, (start, end)), budget
        )
    except ServiceRefused as exc:
        sb.check(check_id, title, False,
                 f"Log Analytics refused the deployed query of {rule.id} (HTTP {exc.status}): "
                 f"{exc.message}")  # fmt: skip
        return
    rows = result_rows(result)
    hits = _hits(ctx, rows)
    window = f"{start.isoformat()} to {end.isoformat()}"
    evidence = {"rule": rule.id, "window": [start.isoformat(), end.isoformat()], "rows": len(rows),
                "matching_rows": len(hits)}  # fmt: skip
    sb.check(check_id, title, bool(hits),
             f"{len(hits)} of {len(rows)} rows over the rule's window {window} name this sign-in"
             if hits else
             f"the deployed rule would not return this sign-in: rule {rule.id}'s query, run over its own "
             f"window {window}, returned {len(rows)} rows, none for this account or sign-in; fix the "
             "rule's query (compare it with the playbook's copy in preflight's drift warning)",
             evidence)  # fmt: skip
