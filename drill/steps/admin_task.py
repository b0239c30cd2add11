"""Step: prove the break-glass account can *act*: a harmless, reversible privileged write, audited.

Microsoft's emergency-access guidance asks that drills "validate that the emergency access accounts can
sign-in and perform administrative tasks", and that their audit-log activity is watched. Reading roles
proves neither. So, with the account's own token: read a group's description, append a drill marker,
read it back, put the original back, read it back again; then wait for the write's AuditLogs row the way
`log_rows` waits for the sign-in row (same polling, same transient handling), check that Core Directory
logged it as initiated by this account, and that the alert query returns it.

Fail closed: every write is verified by reading the object back. A restore that fails is a FAIL naming the
object, the property and the exact value to put back by hand; a cleanup callback tries the restore once
more so no marker outlives the drill when the service recovers (it only touches a description that still
carries this drill's marker).
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

from drill.evidence.model import StepResult
from drill.fidelity import note_rows
from drill.isotime import utc_z
from drill.steps.base import StepBuilder, utcnow
from drill.steps.context import DrillContext
from drill.steps.log_rows import _as_dt, _as_json, answered_rows, result_rows, workspace_query
from drill.steps.waiting import CountedCalls, ServiceRefused, call_within, poll

NAME, TITLE = "admin_task", "The account can perform an admin task, restore it, and the write is audited"
SCOPES = ("Group.ReadWrite.All",)
PROPERTY = "description"
RESTRICTED_HINT = "restricted management administrative unit"
AUDIT_COLUMNS = (
    "Id, CorrelationId, ActivityDateTime, TimeGenerated, Ingested, OperationName, Category, "
    "LoggedByService, Result, InitiatedBy, TargetResources"
)


def marker(drill_id: str) -> str:
    """The text the write appends: names the drill so an auditor (and the watch) can match it."""
    return f"[breakglass-drill {drill_id}]"


def marked(original: str | None, mark: str) -> str:
    return f"{original} {mark}" if original else mark


def audit_query(user_id: str, group_id: str, since: datetime) -> str:
    return (
        "AuditLogs\n"
        "| where OperationName == 'Update group'\n"
        f"| where tostring(InitiatedBy.user.id) == '{user_id}'\n"
        f"| where TimeGenerated >= datetime({utc_z(since)})\n"
        f"| where tostring(TargetResources) has '{group_id}'\n"
        "| extend Ingested = ingestion_time()\n"
        f"| project {AUDIT_COLUMNS}\n"
        "| sort by TimeGenerated asc"
    )


def write_row(rows: list[dict[str, Any]], mark: str) -> dict[str, Any] | None:
    """The audit row whose Description newValue carries this drill's marker (the write, not the restore)."""
    for row in rows:
        targets = _as_json(row.get("TargetResources"))
        for target in targets if isinstance(targets, list) else []:
            props = target.get("modifiedProperties") if isinstance(target, dict) else None
            for prop in props if isinstance(props, list) else []:
                if not isinstance(prop, dict) or prop.get("displayName") != "Description":
                    continue
                if mark in str(prop.get("newValue") or ""):
                    return row
    return None


def values_kind(row: dict[str, Any]) -> str:
    """For a fidelity pack: whether the write's Description newValue is JSON text of an array or plain."""
    for target in _as_json(row.get("TargetResources")) or []:
        for prop in (target.get("modifiedProperties") if isinstance(target, dict) else None) or []:
            if isinstance(prop, dict) and prop.get("displayName") == "Description":
                try:
                    return (
                        "json-array" if isinstance(json.loads(str(prop.get("newValue"))), list) else "plain"
                    )
                except ValueError:
                    return "plain"
    return "plain"


def manual_fix(group: dict[str, Any], original: str | None) -> str:
    """What to put back by hand: the object, the property and the value, exactly."""
    value = json.dumps(original) if original is not None else "null (empty)"
    return (
        f"put it back by hand: group {group.get('displayName')!r} ({group.get('id')}), property "
        f"{PROPERTY}, value {value}"
    )


def _said(exc: BaseException) -> str:
    """What the service (or the wait) said, one line: HTTP status and Graph's message when it has them."""
    if isinstance(exc, ServiceRefused):
        return f"HTTP {exc.status}: {exc.message}"
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def _target(ctx: DrillContext) -> tuple[str | None, str]:
    task = ctx.playbook.admin_task
    if task.target == "canary-group":
        return (str(task.canary_group_id) if task.canary_group_id else None), "admin_task.canary_group_id"
    gid = ctx.playbook.conditional_access.break_glass_group_id
    return (str(gid) if gid else None), "conditional_access.break_glass_group_id"


async def run(ctx: DrillContext) -> StepResult:
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.groups.item.group_item_request_builder import GroupItemRequestBuilder
    from msgraph.generated.models.group import Group

    from drill.clients import graph_client, graph_scopes

    sb = StepBuilder(NAME, TITLE)
    task = ctx.playbook.admin_task
    if not task.enabled:
        reason = "admin_task.enabled is false in the playbook: the account's write is not proven"
        if ctx.diagnostic_setting_unread:
            # Its AuditLogs row is the only proof left that AuditLogs reach the workspace: required.
            return sb.skipped(f"{reason}, and Entra's diagnostic settings could not be read, so nothing "
                              "proves AuditLogs reach the workspace: enable admin_task, or let the observer "
                              "read the diagnostic settings")  # fmt: skip
        result = sb.skipped(reason)
        result.required = False
        return result
    if ctx.diagnostic_setting_unread:
        sb.evidence["proves_diagnostic_setting"] = "AuditLogs reach the workspace (setting not readable)"
    if ctx.tokens is None:
        return sb.fail("no token from the sign-in step")
    group_id, setting = _target(ctx)
    if group_id is None:
        return sb.fail(
            f"no object to write: set {setting} in the playbook (or admin_task.target canary-group with "
            "canary_group_id, or admin_task.enabled: false to skip this proof)"
        )
    client = graph_client(ctx.tokens.credential(), ctx.cloud, graph_scopes(ctx.cloud, SCOPES))
    deadline = float(ctx.playbook.sla.ga_proof)
    by_id = client.groups.by_group_id(group_id)
    select = RequestConfiguration(
        query_parameters=GroupItemRequestBuilder.GroupItemRequestBuilderGetQueryParameters(
            select=["id", "displayName", PROPERTY]
        )
    )
    call = CountedCalls(ctx.counters, "graph_requests", deadline)

    async def read() -> dict[str, Any]:
        g = await call(lambda: by_id.get(request_configuration=select))
        return {
            "id": getattr(g, "id", None),
            "displayName": getattr(g, "display_name", None),
            PROPERTY: getattr(g, "description", None),
        }

    async def patch(value: str | None) -> None:
        body = Group()
        body.description = value
        await call(lambda: by_id.patch(body))

    try:
        before = await read()
    except ServiceRefused as exc:
        return sb.fail(f"Graph refused to read group {group_id} (HTTP {exc.status}): {exc.message}")
    except Exception as exc:  # noqa: BLE001 - a timeout or unknown error is a FAIL naming it, never a PASS
        return sb.fail(f"Graph did not answer reading group {group_id} within the SLA: {_said(exc)}")
    original = before[PROPERTY]
    mark = marker(ctx.drill_id)
    if original and mark in original:
        return sb.fail(
            f"group {group_id} already carries this drill's marker: {manual_fix(before, original)}"
        )
    new = marked(original, mark)
    sb.evidence["object"] = {
        "type": "group",
        "id": group_id,
        "displayName": before["displayName"],
        "property": PROPERTY,
        "setting": setting,
    }

    async def restore_if_marked() -> None:
        """Cleanup's second chance: restore only while this drill's marker is still there."""
        try:
            now = await read()
            if now[PROPERTY] and mark in now[PROPERTY]:
                await patch(original)
        except Exception as exc:
            raise RuntimeError(
                f"the drill marker may still be on the group ({_said(exc)}): {manual_fix(before, original)}"
            ) from exc

    ctx.cleanups.append(restore_if_marked)
    since = ctx.skew.tenant_time(utcnow()) - timedelta(seconds=5)
    write_at = utcnow()
    try:
        await patch(new)
    except ServiceRefused as exc:
        why = (
            "the group is in a restricted management administrative unit, where only administrators scoped "
            "to that unit may write (even Global Administrator may not): take the group out of the unit, "
            "or choose admin_task.target canary-group with a group outside it"
            if RESTRICTED_HINT in exc.message
            else "check the drill app has the delegated Group.ReadWrite.All scope (drill_app.scopes, with "
            "admin consent) and the account holds Global Administrator"
        )
        return sb.fail(
            f"Graph refused the write to group {group_id}'s {PROPERTY} (HTTP {exc.status}): "
            f"{exc.message}; {why}"
        )
    except Exception as exc:  # noqa: BLE001 - the write may or may not have landed: not proven
        return sb.fail(
            f"the write to group {group_id}'s {PROPERTY} did not complete ({_said(exc)}): not proven; "
            "cleanup removes the marker if it landed"
        )
    try:
        written = await read()
    except Exception as exc:  # noqa: BLE001 - an unreadable object fails the read-back check below
        written = {PROPERTY: f"<not readable: {_said(exc)}>"}
    sb.check(
        "write_applied",
        "The privileged write took effect (read back)",
        written[PROPERTY] == new,
        f"{PROPERTY} now ends with the drill marker {mark!r}"
        if written[PROPERTY] == new
        else f"read back {written[PROPERTY]!r}, expected {new!r}",
        {"at": utc_z(write_at), "old": original, "new": new},
    )
    restore_at = utcnow()
    try:
        await patch(original)
        restored = await read()
    except Exception as exc:  # noqa: BLE001 - any failure, refused or timed out, must name the fix
        reason = f"the restore failed ({_said(exc)}); {manual_fix(before, original)}"
        sb.check("restore", "The write was restored (read back)", False, reason, {"at": utc_z(restore_at)})
        ctx.finding("critical", "Drill marker left on a directory object", reason, NAME)
        return sb.finish()
    ok = restored[PROPERTY] == original
    sb.check(
        "restore",
        "The write was restored (read back)",
        ok,
        f"{PROPERTY} is back to its value before the drill"
        if ok
        else f"read back {restored[PROPERTY]!r} after the restore; {manual_fix(before, original)}",
        {
            "at": utc_z(restore_at),
            "value": original,
            "seconds_marked": round((restore_at - write_at).total_seconds(), 3),
        },
    )
    if call.transients:
        sb.evidence["transient_errors"] = call.transients[:50]
    await _audit_row(ctx, sb, group_id, mark, since, write_at)
    return sb.finish("write made, read back, restored, audited by Core Directory, seen by the alert query")


async def _audit_row(
    ctx: DrillContext, sb: StepBuilder, group_id: str, mark: str, since: datetime, write_at: datetime
) -> None:
    """Wait for the write's AuditLogs row (the sign-in row's wait, reused) and run the alert query on it."""
    if ctx.observer is None:
        sb.check(
            "audit_row", "The write's AuditLogs row", False, "no observer credential to query Log Analytics"
        )
        return
    user_id = str(ctx.account.object_id)
    query = audit_query(user_id, group_id, since)
    deadline = float(ctx.playbook.sla.log_row)

    _query = workspace_query(ctx, ctx.observer, since)

    async def probe() -> dict[str, Any] | None:
        rows = answered_rows(await asyncio.to_thread(_query, query))
        found = write_row(rows, mark)
        note_rows("AuditLogs", rows, {"modified_values": values_kind(found)} if found else None)
        return found

    sb.evidence["audit_query"] = query
    try:
        outcome = await poll(
            probe,
            deadline,
            on_attempt=lambda n, el: ctx.progress.waiting("the AuditLogs row of the write", el, deadline, n),
        )
    except ServiceRefused as exc:
        sb.check(
            "audit_row",
            "The write's AuditLogs row",
            False,
            f"Log Analytics refused the query (HTTP {exc.status}): {exc.message}",
        )
        return
    row = outcome.value
    if row is None:
        sb.check(
            "audit_row",
            "The write's AuditLogs row",
            False,
            f"no AuditLogs row for the write after {outcome.waited_s:.0f}s (SLA {deadline:.0f}s): Entra "
            "audited nothing that reached the workspace; check the Entra diagnostic setting sends AuditLogs "
            "to this workspace, and ingestion health",
            {"attempts": outcome.attempts, "transient_errors": outcome.errors[:20]},
        )
        return
    seen = ctx.skew.tenant_time(utcnow())
    activity, arrived = _as_dt(row.get("ActivityDateTime")), _as_dt(row.get("Ingested"))
    initiated = _as_json(row.get("InitiatedBy")) or {}
    initiator = str(((initiated.get("user") or {}) if isinstance(initiated, dict) else {}).get("id"))
    timings = {
        "write_at": utc_z(write_at),
        "activity_at": utc_z(activity) if activity else None,
        "ingested_at": utc_z(arrived) if arrived else None,
        "seen_at": utc_z(seen),
        "ingestion_latency_s": round((arrived - activity).total_seconds(), 3)
        if activity and arrived
        else None,
        "waited_s": round(outcome.waited_s, 3),
    }
    sb.evidence["audit_timings"] = timings
    excerpt = {
        k: str(row.get(k))
        for k in (
            "Id",
            "CorrelationId",
            "ActivityDateTime",
            "Ingested",
            "OperationName",
            "Category",
            "LoggedByService",
            "Result",
        )
    }
    good = initiator == user_id and row.get("LoggedByService") == "Core Directory"
    sb.check(
        "audit_row",
        "The write's AuditLogs row: initiated by the account, recorded by Core Directory",
        good,
        f"found after {outcome.waited_s:.1f}s, latency {timings['ingestion_latency_s']}s"
        if good
        else f"the row says initiated by {initiator}, logged by {row.get('LoggedByService')!r}",
        {**excerpt, "initiatedBy": initiator, "attempts": outcome.attempts},
    )
    await _alert_query(ctx, sb, _query, row)


async def _alert_query(ctx: DrillContext, sb: StepBuilder, run_query: Any, row: dict[str, Any]) -> None:
    """The alert rule's query must return the audit row: seed-style rules watch what the accounts initiate.

    With the deployed rules read from ARM (preflight, issue 13), one of their queries must return it; the
    playbook's copy is then an expectation only, as in the log rows step.
    """
    deployed = list(ctx.deployed_rules.values())
    if deployed:
        await _deployed_rules_query(ctx, sb, run_query, row, deployed)
    task = ctx.playbook.admin_task
    path = (
        ctx.playbook.resolve(task.alert_query_file)
        if task.alert_query_file
        else ctx.playbook.alert_query_path
    )
    title = "The alert query returns the write's audit row"
    try:
        kql = path.read_text(encoding="utf-8")
    except OSError as exc:
        sb.check("audit_alert_query", title, False, f"cannot read {path}: {exc}", required=not deployed)
        return
    try:
        result, _errors = await call_within(
            lambda: asyncio.to_thread(run_query, kql), float(ctx.playbook.sla.log_row)
        )
    except ServiceRefused as exc:
        sb.check(
            "audit_alert_query",
            title,
            False,
            f"Log Analytics refused the alert query (HTTP {exc.status}): {exc.message}",
            required=not deployed,
        )
        return
    rows = result_rows(result)
    hits = _audit_hits(rows, row)
    sb.check(
        "audit_alert_query",
        title,
        bool(hits),
        f"{len(hits)} of {len(rows)} result rows carry the audit row's Id or CorrelationId"
        if hits
        else f"the alert query ({path.name}) returned {len(rows)} rows, none for this write: a rule on it "
        "would not see directory changes the account makes; add AuditLogs rows initiated by the accounts",
        {"file": path.name, "rows": len(rows), "matching_rows": len(hits)},
        required=not deployed,
    )


def _audit_hits(rows: list[dict[str, Any]], row: dict[str, Any]) -> list[dict[str, Any]]:
    ids = {str(row.get("Id")), str(row.get("CorrelationId"))}
    ids.discard("None")
    return [r for r in rows if any(i in str(v) for v in r.values() for i in ids)]


async def _deployed_rules_query(
    ctx: DrillContext, sb: StepBuilder, run_query: Any, row: dict[str, Any], rules: list[Any]
) -> None:
    """Each deployed rule's own query over the write's time; together they must return the audit row."""
    title = "A deployed alert rule returns the write's audit row"
    found: dict[str, int] = {}
    refused: list[str] = []
    for rule in rules:
        query = str(rule.query)

        async def run_rule(kql: str = query) -> Any:
            return await asyncio.to_thread(run_query, kql)

        try:
            result, _errors = await call_within(run_rule, float(ctx.playbook.sla.log_row))
        except ServiceRefused as exc:
            refused.append(f"{rule.name}: HTTP {exc.status} {exc.message}")
            continue
        found[rule.name] = len(_audit_hits(result_rows(result), row))
    hit = sorted(name for name, n in found.items() if n)
    if hit:
        reason = f"returned by {', '.join(hit)}"
    elif refused:
        reason = f"Log Analytics refused a deployed rule's query: {'; '.join(refused)}"
    else:
        reason = (
            f"none of the deployed rules ({', '.join(sorted(found))}) returns this write's audit row: no "
            "alert would fire for a directory change the account makes; deploy a rule over AuditLogs rows "
            "initiated by the break-glass accounts (the seed-style union query)"
        )
    sb.check(
        "audit_deployed_rules",
        title,
        bool(hit),
        reason,
        {"rules": {r.name: r.id for r in rules}, "matching_rows": found, "refused": refused},
    )
