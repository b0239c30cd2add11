"""The posture audit's Azure reads: Entra's diagnostic settings, the alert rules and what they run as, their
action groups, Microsoft Sentinel's analytics rules, and the synthetic-row proof of what each rule catches.

Everything is kept in ARM's REST JSON (the SDK models' own `serialize()`), so the evidence an auditor sees
is the object the portal's JSON view shows. It reuses drill/monitoring/arm.py's ArmReader (one per
subscription: a rule may be named by a resource id in another subscription) and the product's Log
Analytics client. A read that fails is recorded in `facts.unread` with the reason (a 403 names the role
the observer lacks), never as an absent object. Calls are synchronous: run `read_monitoring` in a thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from drill.audit import synthetic
from drill.monitoring.arm import ArmReader, missing_role
from drill.playbook.monitoring import rule_coordinates

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from drill.audit.facts import Facts, Obj
    from drill.clouds import Cloud
    from drill.playbook import Playbook

NO_MONITORING = "the playbook has no monitoring section (subscription, resource group, workspace, rules)"
NO_ARM = "the cloud names no arm_endpoint: add tenant.cloud.custom.arm_endpoint (and arm_audience)"
FACTS = ("diagnostic_settings", "alert_rules", "identity_roles", "action_groups", "coverage")


def monitoring_reader(credential: TokenCredential, cloud: Cloud) -> Callable[[Facts, Playbook], None]:
    """The audit's monitoring reader (drill/audit/run.py FactReader) for this observer and cloud."""

    def monitoring_reader(facts: Facts, playbook: Playbook) -> None:
        read_monitoring(facts, playbook, credential, cloud)

    return monitoring_reader


def read_monitoring(facts: Facts, playbook: Playbook, credential: TokenCredential, cloud: Cloud) -> None:
    """Fill the monitoring facts as the observer (Reader or Monitoring Reader on the monitoring resource
    group, Reader at /providers/Microsoft.aadiam for the Entra settings, Log Analytics Reader on the
    workspace)."""
    from drill.clients import logs_client

    if not cloud.arm_endpoint:
        _all_unread(facts, playbook, NO_ARM)
        return
    readers: dict[str, ArmReader] = {}

    def reader(subscription: str) -> ArmReader:
        key = subscription.lower()
        if key not in readers:
            readers[key] = ArmReader(credential, cloud, subscription)
        return readers[key]

    read_monitoring_with(facts, playbook, reader, logs_client(credential, cloud))
    facts.requests["arm"] = facts.requests.get("arm", 0) + sum(r.requests for r in readers.values())


def read_monitoring_with(
    facts: Facts, playbook: Playbook, reader: Callable[[str], ArmReader], logs: Any
) -> None:
    """`read_monitoring` with its clients given (an ArmReader per subscription, a LogsQueryClient)."""
    mon = playbook.monitoring
    if mon is None:
        _all_unread(facts, playbook, NO_MONITORING)
        return
    home = reader(str(mon.subscription_id))
    workspace = mon.workspace_resource_id
    reads: list[tuple[tuple[str, ...], Callable[[], None]]] = [
        (("diagnostic_settings",), lambda: _diagnostics(facts, home)),
        (("alert_rules",), lambda: _rules(facts, playbook, reader)),
        (("identity_roles",), lambda: _identities(facts, home, workspace)),
        (("action_groups",), lambda: _action_groups(facts, home)),
        (("sentinel_rules",), lambda: _sentinel(facts, home, workspace)),
        (("coverage",), lambda: _coverage(facts, playbook, logs)),
    ]
    for names, read in reads:
        if facts.unreachable:  # a host this reader needs cannot be reached: the rest would fail alike
            gone = next(iter(facts.unreachable.values()))
            for name in names:
                facts.unread.setdefault(name, gone)
            continue
        read()
        if not any(name in facts.unread for name in names):
            facts.answered += 1


def _all_unread(facts: Facts, playbook: Playbook, reason: str) -> None:
    for name in FACTS:
        facts.unread[name] = reason
    if playbook.audit.sentinel_rules:
        facts.unread["sentinel_rules"] = reason


def refusal(exc: BaseException, what: str, scope: str, facts: Facts | None = None) -> str:
    """Why a read failed, in words an operator can act on (a 403 names the role to grant; a host that
    cannot be reached is named once, and recorded in `facts.unreachable` so no further call is tried)."""
    from drill.clients import unreachable

    where = unreachable(exc)
    if where is not None:
        line = where.line()
        if facts is not None:
            facts.unreachable.setdefault(where.host, line)
        return line
    status = getattr(exc, "status_code", None)
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None) or ""
    message = str(getattr(error, "message", None) or exc).splitlines()[0][:300]
    if status == 403:
        return f"ARM refused to read the {what} ({code or 403}): {missing_role(what, scope)}"
    if status == 401:
        return f"ARM did not accept the observer's token for the {what}: {message}"
    return f"could not read the {what} ({status or type(exc).__name__} {code}): {message}".replace("  ", " ")


def _diagnostics(facts: Facts, arm: ArmReader) -> None:
    from azure.core.exceptions import AzureError

    try:
        facts.diagnostic_settings = arm.diagnostic_settings_json()
    except AzureError as exc:
        facts.unread["diagnostic_settings"] = refusal(
            exc, "diagnostic settings", "/providers/microsoft.aadiam", facts
        )
        facts.diagnostic_settings_forbidden = getattr(exc, "status_code", None) == 403


def _rules(facts: Facts, playbook: Playbook, reader: Callable[[str], ArmReader]) -> None:
    from azure.core.exceptions import AzureError

    mon = playbook.monitoring
    assert mon is not None
    refs = list(mon.rules) or (list(playbook.alert.rules) if playbook.alert else [])
    if not refs:
        facts.unread["alert_rules"] = "neither monitoring.rules nor alert.rules names a rule"
        return
    for ref in refs:
        sub, group, name = rule_coordinates(mon, ref)
        scope = f"/subscriptions/{sub}/resourceGroups/{group}"
        try:
            rule = reader(sub).rule_json(group, name)
        except AzureError as exc:
            facts.unread["alert_rules"] = refusal(exc, "alert rules", scope, facts)
            if facts.unreachable:
                return
            continue
        if rule is None:
            facts.notes.append(f"alert rule {ref} does not exist in {scope}")
            continue
        facts.alert_rules.append(rule)


def principal_ids(rule: Obj) -> list[str]:
    """The managed identities a rule runs its query as (system-assigned, or each user-assigned one)."""
    identity = rule.get("identity") or {}
    out = [str(identity["principalId"])] if identity.get("principalId") else []
    for user in (identity.get("userAssignedIdentities") or {}).values():
        if (user or {}).get("principalId"):
            out.append(str(user["principalId"]))
    return out


def _identities(facts: Facts, arm: ArmReader, workspace: str) -> None:
    from azure.core.exceptions import AzureError

    for rule in facts.alert_rules:
        for pid in principal_ids(rule):
            if pid in facts.identity_roles:
                continue
            try:
                assignments = arm.role_assignments(workspace, pid)
                for item in assignments:
                    role_id = str((item.get("properties") or {}).get("roleDefinitionId") or "")
                    item["roleName"] = arm.role_name(workspace, role_id) if role_id else ""
            except AzureError as exc:
                facts.unread["identity_roles"] = refusal(exc, "role assignments", workspace, facts)
                return
            facts.identity_roles[pid] = assignments


def _action_groups(facts: Facts, arm: ArmReader) -> None:
    from azure.core.exceptions import AzureError

    for rule in facts.alert_rules:
        for group_id in ((rule.get("properties") or {}).get("actions") or {}).get("actionGroups") or []:
            key = str(group_id).lower()
            if key in facts.action_groups:
                continue
            try:
                group = arm.action_group_json(str(group_id))
            except AzureError as exc:
                facts.unread["action_groups"] = refusal(exc, "action groups", str(group_id), facts)
                if facts.unreachable:
                    return
                continue
            if group is None:
                facts.notes.append(
                    f"action group {group_id} (named by rule {rule.get('name')}) does not exist"
                )
                continue
            facts.action_groups[key] = group


def _sentinel(facts: Facts, arm: ArmReader, workspace: str) -> None:
    from azure.core.exceptions import AzureError

    try:
        facts.sentinel_rules = arm.sentinel_rules(workspace)
    except AzureError as exc:
        facts.unread["sentinel_rules"] = refusal(exc, "Sentinel analytics rules", workspace, facts)
        return
    if facts.sentinel_rules is None:
        facts.notes.append("the workspace is not onboarded to Microsoft Sentinel")


def _coverage(facts: Facts, playbook: Playbook, logs: Any) -> None:
    """Run every read rule's query over each account's synthetic rows (drill/audit/synthetic.py)."""
    from azure.core.exceptions import AzureError

    workspace = str(playbook.log_analytics.workspace_id)
    accounts = synthetic.account_list(playbook.accounts)
    count = 0

    def run(query: str) -> list[dict[str, Any]]:
        nonlocal count
        count += 1
        return run_query(logs, workspace, query)

    try:
        for rule in facts.alert_rules:
            conditions = synthetic.rule_conditions(rule)
            proof = synthetic.prove_rule(
                str(rule.get("id")),
                [query for query, _ in conditions],
                accounts,
                str(playbook.tenant.id),
                run,
                [measure for _, measure in conditions],
            )
            facts.coverage[proof.rule_id] = proof.coverage
            facts.notes.extend(proof.notes)
    except AzureError as exc:
        status = getattr(exc, "status_code", None)
        role = " (give the observer Log Analytics Reader on the workspace)" if status == 403 else ""
        why = str(getattr(exc, "message", None) or exc).splitlines()[0][:200]
        gone = refusal(exc, "workspace", workspace, facts) if status is None else None
        facts.unread["coverage"] = (
            gone
            if gone and facts.unreachable
            else (f"the synthetic-row queries failed ({status or type(exc).__name__}: {why}){role}")
        )
        facts.coverage = {}
    finally:
        facts.requests["logs"] = facts.requests.get("logs", 0) + count


def run_query(logs: Any, workspace: str, query: str) -> list[dict[str, Any]]:
    """One query's rows (column -> value); a query the service rejects raises synthetic.QueryFailed.

    No timespan: the inline rows are stamped with the service's now(), and the rule's own filters decide.
    """
    from azure.core.exceptions import AzureError
    from azure.monitor.query import LogsQueryStatus

    try:
        result = logs.query_workspace(workspace, query, timespan=None)
    except AzureError as exc:
        if getattr(exc, "status_code", None) == 400:
            raise synthetic.QueryFailed(str(getattr(exc, "message", exc)).splitlines()[0][:300]) from exc
        raise
    if result.status == LogsQueryStatus.FAILURE:
        raise synthetic.QueryFailed(str(getattr(result, "error", "query failed")))
    tables = result.tables if result.status == LogsQueryStatus.SUCCESS else result.partial_data
    out: list[dict[str, Any]] = []
    for table in tables or []:
        names = [c if isinstance(c, str) else str(getattr(c, "name", c)) for c in table.columns]
        out.extend(dict(zip(names, row, strict=False)) for row in table.rows)
    return out
