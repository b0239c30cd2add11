"""Prove what each deployed alert rule catches by running its query over synthetic rows (BG.AL.1).

Reading a query's text is fooled by `has_any`, by a typo in an object id, by a comment naming an account,
or by coverage split across rules. So the audit runs each rule's deployed query through the real Log
Analytics query API, with the tables it reads replaced by inline tables: `let SigninLogs = datatable(...)
[...];` before the query. A let statement binds the name for the rest of the query and the innermost
binding wins (Kusto "let statement" docs), so the unmodified rule text reads our rows instead of the
workspace's. Each run holds exactly one row (one account, one kind), so a non-empty result says which
row the rule caught. A control run with every table empty comes first: a query that returns rows from
nothing (or that escapes the inline tables through `search`, `union *`, `table()` or `workspace()`) proves
nothing and covers nothing.

The rows have every column of the tables' published schemas (azure-reference-other's SigninLogs and
AuditLogs tables), the real types and quirks (AuthenticationDetails is a JSON *string*, ResultType "0" is
success) and TimeGenerated = the service's now(), so `ago(5m)` filters see them. A break-glass sign-in is a
passkey sign-in, and those can log the object id in UserPrincipalName, so the sign-in is proven with two
rows run separately: one carrying the UPN, one carrying the object id there; a rule must catch both.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

Row = dict[str, Any]
# (query text) -> rows returned, each column name -> value; raises QueryFailed when the service refused it.
RunQuery = Callable[[str], list[dict[str, Any]]]

SIGNIN_TABLE, AUDIT_TABLE, NONINTERACTIVE_TABLE = "SigninLogs", "AuditLogs", "AADNonInteractiveUserSignInLogs"

# Column -> Kusto type, from the published table references (shared/reference/schemas/).
_SIGNIN_STRINGS = [
    "AADTenantId",
    "AlternateSignInName",
    "AppDisplayName",
    "AppId",
    "AppliedConditionalAccessPolicies",
    "AuthenticationContextClassReferences",
    "AuthenticationDetails",
    "AuthenticationMethodsUsed",
    "AuthenticationProcessingDetails",
    "AuthenticationProtocol",
    "AuthenticationRequirement",
    "AuthenticationRequirementPolicies",
    "AutonomousSystemNumber",
    "Category",
    "ClientAppUsed",
    "ConditionalAccessStatus",
    "CorrelationId",
    "CrossTenantAccessType",
    "HomeTenantId",
    "Id",
    "Identity",
    "IPAddress",
    "IPAddressFromResourceProvider",
    "_IsBillable",
    "Level",
    "Location",
    "NetworkLocationDetails",
    "OperationName",
    "OperationVersion",
    "OriginalRequestId",
    "ProcessingTimeInMilliseconds",
    "Resource",
    "ResourceDisplayName",
    "ResourceGroup",
    "ResourceId",
    "ResourceIdentity",
    "ResourceProvider",
    "ResourceServicePrincipalId",
    "ResourceTenantId",
    "ResultDescription",
    "ResultSignature",
    "ResultType",
    "RiskDetail",
    "RiskEventTypes",
    "RiskEventTypes_V2",
    "RiskLevel",
    "RiskLevelAggregated",
    "RiskLevelDuringSignIn",
    "RiskState",
    "ServicePrincipalId",
    "ServicePrincipalName",
    "SessionLifetimePolicies",
    "SignInIdentifier",
    "SignInIdentifierType",
    "SourceSystem",
    "TokenIssuerName",
    "TokenIssuerType",
    "Type",
    "UniqueTokenIdentifier",
    "UserAgent",
    "UserDisplayName",
    "UserId",
    "UserPrincipalName",
    "UserType",
]
SIGNIN_COLUMNS: dict[str, str] = dict.fromkeys(_SIGNIN_STRINGS, "string") | {
    "AppliedEventListeners": "dynamic",
    "ConditionalAccessPolicies": "dynamic",
    "DeviceDetail": "dynamic",
    "LocationDetails": "dynamic",
    "MfaDetail": "dynamic",
    "Status": "dynamic",
    "_BilledSize": "real",
    "DurationMs": "long",
    "FlaggedForReview": "bool",
    "IsInteractive": "bool",
    "IsRisky": "bool",
    "CreatedDateTime": "datetime",
    "TimeGenerated": "datetime",
}
_AUDIT_STRINGS = [
    "AADOperationType",
    "AADTenantId",
    "ActivityDisplayName",
    "Category",
    "CorrelationId",
    "Id",
    "Identity",
    "_IsBillable",
    "Level",
    "Location",
    "LoggedByService",
    "OperationName",
    "OperationVersion",
    "Resource",
    "ResourceGroup",
    "ResourceId",
    "ResourceProvider",
    "Result",
    "ResultDescription",
    "ResultReason",
    "ResultSignature",
    "ResultType",
    "SourceSystem",
    "Type",
]
AUDIT_COLUMNS: dict[str, str] = dict.fromkeys(_AUDIT_STRINGS, "string") | {
    "AdditionalDetails": "dynamic",
    "InitiatedBy": "dynamic",
    "TargetResources": "dynamic",
    "_BilledSize": "real",
    "DurationMs": "long",
    "ActivityDateTime": "datetime",
    "TimeGenerated": "datetime",
}
# The non-interactive table's published columns (azure-reference-other, aadnoninteractiveusersigninlogs):
# SigninLogs' but these JSON columns are strings, the tenant column is TenantId, the processing time is
# ProcessingTimeInMs, and SignInEventTypes is added.
_NONINTERACTIVE_STRINGS = (
    "ConditionalAccessPolicies",
    "DeviceDetail",
    "LocationDetails",
    "MfaDetail",
    "Status",
)
_RENAMED = {"AADTenantId": "TenantId", "ProcessingTimeInMilliseconds": "ProcessingTimeInMs"}
NONINTERACTIVE_COLUMNS: dict[str, str] = {
    _RENAMED.get(name, name): ("string" if name in _NONINTERACTIVE_STRINGS else kind)
    for name, kind in SIGNIN_COLUMNS.items()
} | {"SignInEventTypes": "string"}
TABLES = {
    SIGNIN_TABLE: SIGNIN_COLUMNS,
    AUDIT_TABLE: AUDIT_COLUMNS,
    NONINTERACTIVE_TABLE: NONINTERACTIVE_COLUMNS,
}
# Columns set to the query's now(): time filters such as ago(5m) must see the row.
_CLOCK_COLUMNS = {
    SIGNIN_TABLE: ("TimeGenerated", "CreatedDateTime"),
    AUDIT_TABLE: ("TimeGenerated", "ActivityDateTime"),
    NONINTERACTIVE_TABLE: ("TimeGenerated", "CreatedDateTime"),
}
# Ways a query reads tables other than by name: the inline tables cannot stand in for those.
_ESCAPES = re.compile(
    r"\bsearch\b|\bunion\s+(?:[a-z]+=\S+\s+)*\*|\btable\s*\(|\bworkspace\s*\(|\bapp\s*\(", re.I
)
PORTAL_APP_ID = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"  # Azure Portal's first-party app id


class QueryFailed(Exception):
    """The service refused a query (syntax or semantic error): the rule's query cannot run at all."""


@dataclass(frozen=True)
class Account:
    name: str
    upn: str
    object_id: str


@dataclass
class RuleProof:
    """One rule's runs: per account, per kind, whether the rule returned the synthetic row."""

    rule_id: str
    coverage: dict[str, dict[str, bool]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    queries: int = 0


def kql_literal(value: Any, kind: str) -> str:
    """A Kusto literal of `kind` (datatable values must be literals, not expressions)."""
    if kind == "string":
        return json.dumps("" if value is None else str(value))  # "..." with \" and \\ escapes, as KQL
    if kind == "dynamic":
        return "dynamic(null)" if value is None else f"dynamic({json.dumps(value)})"
    if kind == "datetime":
        return "datetime(null)" if value is None else f"datetime({value})"
    if value is None:
        return f"{kind}(null)"
    if kind == "bool":
        return "true" if value else "false"
    return f"{kind}({value})"


def inline_table(table: str, rows: Sequence[Row]) -> str:
    """`let <table> = datatable(<schema>)[<rows>] | extend <clock columns> = now();`"""
    columns = TABLES[table]
    schema = ", ".join(f"{name}:{kind}" for name, kind in columns.items())
    values = ",\n    ".join(
        ", ".join(kql_literal(row.get(name), kind) for name, kind in columns.items()) for row in rows
    )
    clock = ", ".join(f"{c} = now()" for c in _CLOCK_COLUMNS[table]) if rows else ""
    tail = f"\n| extend {clock}" if clock else ""
    return f"let {table} = datatable({schema}) [\n    {values}\n]{tail};"


_SYNTHETIC = uuid.UUID("3f0e6c1a-7b2d-4e59-8a41-9c3d2b1e0f77")


def _synthetic_id(kind: str, account: Account, detail: str) -> str:
    """Stable ids for the synthetic rows: the same audit sends the same query text every day, so the
    service can reuse its plan (and the simulator its translation); the rows never leave the query."""
    return str(uuid.uuid5(_SYNTHETIC, f"{kind}:{account.object_id}:{detail}"))


# A failed sign-in: wrong password (Entra error 50126), the attempt an emergency account must alert on.
FAILED_RESULT = ("50126", "Error validating credentials due to invalid username or password.")


def failed_signin_row(account: Account, tenant_id: str) -> Row:
    """A failed interactive sign-in attempt on the account (ResultType 50126, not "0")."""
    row = signin_row(account, tenant_id)
    code, text = FAILED_RESULT
    details = [{"authenticationStepDateTime": None, "authenticationMethod": "Password", "succeeded": False,
                "authenticationStepResultDetail": "Invalid username or password or Invalid on-premise "
                "username or password.", "authenticationStepRequirement": "Primary authentication",
                "StatusSequence": 0, "RequestSequence": 0}]  # fmt: skip
    row.update(
        Id=_synthetic_id("signin-failed", account, code),
        CorrelationId=_synthetic_id("signin-failed-correlation", account, code),
        ResultType=code,
        ResultSignature="NONE",
        ResultDescription=text,
        Status={"errorCode": int(code), "failureReason": text},
        ConditionalAccessStatus="notApplied",
        AuthenticationRequirement="singleFactorAuthentication",
        AuthenticationDetails=json.dumps(details),
    )
    return row


def noninteractive_row(account: Account, tenant_id: str) -> Row:
    """A non-interactive sign-in (a client refreshing the account's token): the non-interactive table."""
    row = signin_row(account, tenant_id)
    for name in _NONINTERACTIVE_STRINGS:
        row[name] = json.dumps(row.get(name))
    row["TenantId"] = row.pop("AADTenantId")
    row.update(
        SignInEventTypes=json.dumps(["nonInteractiveUser"]),
        Id=_synthetic_id("signin-noninteractive", account, ""),
        CorrelationId=_synthetic_id("signin-noninteractive-correlation", account, ""),
        Category="NonInteractiveUserSignInLogs",
        Type=NONINTERACTIVE_TABLE,
        IsInteractive=False,
        AuthenticationRequirement="singleFactorAuthentication",
        AuthenticationDetails=json.dumps([]),
    )
    return row


def signin_row(account: Account, tenant_id: str, *, upn_field: str | None = None) -> Row:
    """A successful interactive passkey sign-in by the account to the Azure portal."""
    upn = account.upn if upn_field is None else upn_field
    details = [
        {
            "authenticationStepDateTime": None,
            "authenticationMethod": "Passkey (device-bound)",
            "authenticationMethodDetail": "",
            "succeeded": True,
            "authenticationStepResultDetail": "MFA completed in Azure AD",
            "authenticationStepRequirement": "Primary authentication",
            "StatusSequence": 0,
            "RequestSequence": 0,
        }
    ]
    return {
        "AADTenantId": tenant_id,
        "HomeTenantId": tenant_id,
        "ResourceTenantId": tenant_id,
        "AlternateSignInName": account.upn,
        "SignInIdentifier": account.upn,
        "SignInIdentifierType": "userPrincipalName",
        "AppDisplayName": "Azure Portal",
        "AppId": PORTAL_APP_ID,
        "AuthenticationDetails": json.dumps(details),
        "AuthenticationMethodsUsed": "",
        "AuthenticationProtocol": "none",
        "AuthenticationRequirement": "multiFactorAuthentication",
        "Category": "SignInLogs",
        "ClientAppUsed": "Browser",
        "ConditionalAccessStatus": "success",
        "ConditionalAccessPolicies": [],
        "CorrelationId": _synthetic_id("signin-correlation", account, upn),
        "CrossTenantAccessType": "none",
        "DeviceDetail": {"browser": "Edge", "operatingSystem": "Windows10"},
        "Id": _synthetic_id("signin", account, upn),
        "Identity": account.name,
        "IPAddress": "203.0.113.10",
        "IsInteractive": True,
        "IsRisky": False,
        "FlaggedForReview": False,
        "Level": "4",
        "Location": "NL",
        "LocationDetails": {"countryOrRegion": "NL"},
        "OperationName": "Sign-in activity",
        "OperationVersion": "1.0",
        "ResourceDisplayName": "Windows Azure Service Management API",
        "ResourceId": f"/tenants/{tenant_id}/providers/Microsoft.aadiam",
        "ResourceProvider": "Microsoft.aadiam",
        "ResultDescription": "",
        "ResultSignature": "SUCCESS",
        "ResultType": "0",
        "RiskDetail": "none",
        "RiskLevelAggregated": "none",
        "RiskLevelDuringSignIn": "none",
        "RiskState": "none",
        "SourceSystem": "Azure AD",
        "Status": {"errorCode": 0},
        "TokenIssuerType": "AzureAD",
        "Type": SIGNIN_TABLE,
        "UserAgent": "Mozilla/5.0",
        "UserDisplayName": account.name,
        "UserId": account.object_id,
        "UserPrincipalName": upn,
        "UserType": "Member",
        "DurationMs": 0,
    }


def audit_row(account: Account, tenant_id: str) -> Row:
    """A directory change the account made to itself (initiated by it and targeting it)."""
    who = {"id": account.object_id, "userPrincipalName": account.upn, "displayName": None,
           "ipAddress": "203.0.113.10"}  # fmt: skip
    target: dict[str, Any] = {"id": account.object_id, "displayName": None, "type": "User",
                              "userPrincipalName": account.upn, "modifiedProperties": [],
                              "administrativeUnits": []}  # fmt: skip
    return {
        "AADOperationType": "Update",
        "AADTenantId": tenant_id,
        "ActivityDisplayName": "Update user",
        "AdditionalDetails": [],
        "Category": "UserManagement",
        "CorrelationId": _synthetic_id("audit-correlation", account, ""),
        "Id": f"Directory_{_synthetic_id('audit', account, '')}",
        "Identity": account.name,
        "InitiatedBy": {"user": who},
        "Level": "4",
        "LoggedByService": "Core Directory",
        "OperationName": "Update user",
        "OperationVersion": "1.0",
        "ResourceId": f"/tenants/{tenant_id}/providers/Microsoft.aadiam",
        "ResourceProvider": "Microsoft.aadiam",
        "Result": "success",
        "ResultSignature": "None",
        "ResultType": "",
        "SourceSystem": "Azure AD",
        "TargetResources": [target],
        "Type": AUDIT_TABLE,
        "DurationMs": 0,
    }


def _names(query: str, table: str) -> bool:
    return re.search(rf"\b{table}\b", query) is not None


def with_rows(query: str, rows: dict[str, list[Row]]) -> str:
    """The rule's query after inline tables for every table it names.

    Blank lines are dropped: Kusto allows none between let statements and the statements after them
    (let-statement docs), and whitespace-only lines mean nothing else to KQL.
    """
    named = [t for t in TABLES if _names(query, t)]
    lets = [inline_table(t, rows.get(t, [])) for t in named]
    body = "\n".join(line for line in query.splitlines() if line.strip())
    return "\n".join([*lets, body])


def prove_rule(
    rule_id: str,
    queries: Sequence[str],
    accounts: Sequence[Account],
    tenant_id: str,
    run: RunQuery,
    measures: Sequence[str | None] = (),
) -> RuleProof:
    """Run the rule's condition queries over each synthetic row; a condition returning rows catches it.

    `measures[i]` is condition i's metricMeasureColumn: with one, a row counts only when that column is
    non-zero, so `summarize Count = count()` (one row with 0 over nothing) is judged by its count.
    """
    proof = RuleProof(rule_id)
    measure_of = {q: (measures[i] if i < len(measures) else None) for i, q in enumerate(queries)}
    if not queries:
        proof.notes.append(f"rule {rule_id} has no query")
    for q in queries:
        if _ESCAPES.search(_strip_comments(q)):
            proof.notes.append(f"rule {rule_id}: the query reads tables by search, union *, table() or "
                               "workspace(); "
                               "inline rows cannot prove what it catches")  # fmt: skip
    runnable = [q for q in queries if not _ESCAPES.search(_strip_comments(q))]
    live: list[str] = []
    for q in runnable:
        proof.queries += 1
        try:
            control = run(with_rows(q, {}))
        except QueryFailed as exc:
            proof.notes.append(f"rule {rule_id}: the service refused its query ({exc}): it can never fire")
            continue
        if _fires(control, measure_of.get(q)):
            proof.notes.append(f"rule {rule_id}: the query returns rows with every table empty, so its rows "
                               "do not show which sign-in or change it caught")  # fmt: skip
            continue
        live.append(q)
    for account in accounts:
        signin_rows = {
            "upn": signin_row(account, tenant_id),
            "object id in UserPrincipalName": signin_row(account, tenant_id, upn_field=account.object_id),
        }
        caught: dict[str, bool] = {}
        for form, row in signin_rows.items():
            caught[form] = _any_rows(live, {SIGNIN_TABLE: [row]}, run, proof, measure_of)
        missed = [form for form, ok in caught.items() if not ok]
        if live and len(missed) == 1:
            proof.notes.append(f"rule {rule_id} misses {account.name}'s sign-in when the row carries the "
                               f"{missed[0]} (passkey sign-ins can log the object id there)")  # fmt: skip
        audit = _any_rows(live, {AUDIT_TABLE: [audit_row(account, tenant_id)]}, run, proof, measure_of)
        failed = _any_rows(live, {SIGNIN_TABLE: [failed_signin_row(account, tenant_id)]}, run, proof,
                           measure_of)  # fmt: skip
        noninteractive = _any_rows(live, {NONINTERACTIVE_TABLE: [noninteractive_row(account, tenant_id)]},
                                   run, proof, measure_of)  # fmt: skip
        if live and not missed and not failed:
            proof.notes.append(f"rule {rule_id} misses {account.name}'s failed sign-in (ResultType "
                               f"{FAILED_RESULT[0]}): it sees successful sign-ins only")  # fmt: skip
        proof.coverage[account.name] = {
            "signin": not missed,
            "signin_failed": failed,
            "noninteractive": noninteractive,
            "audit": audit,
        }
    return proof


def _any_rows(
    queries: Sequence[str],
    rows: dict[str, list[Row]],
    run: RunQuery,
    proof: RuleProof,
    measure_of: dict[str, str | None],
) -> bool:
    for q in queries:
        if not any(_names(q, table) for table in rows):
            continue  # the row's table is not inlined into a query that does not name it: it cannot see it
        proof.queries += 1
        try:
            if _fires(run(with_rows(q, rows)), measure_of.get(q)):
                return True
        except QueryFailed as exc:
            proof.notes.append(f"rule {proof.rule_id}: the service refused its query over a synthetic row "
                               f"({exc})")  # fmt: skip
    return False


def _strip_comments(kql: str) -> str:
    return re.sub(r"//[^\n]*", "", kql)


def _fires(rows: list[dict[str, Any]], measure: str | None) -> bool:
    """Whether the result holds a row the rule counts: any row, or one with a non-zero measure."""
    if measure is None:
        return bool(rows)
    for row in rows:
        try:
            if float(row.get(measure) or 0) != 0:
                return True
        except (TypeError, ValueError):
            return True  # a non-numeric measure: the service would refuse the rule, not ignore the row
    return False


def rule_conditions(rule: Row) -> list[tuple[str, str | None]]:
    """(query, metricMeasureColumn) of every condition of a scheduledQueryRule in ARM JSON."""
    conditions = (((rule.get("properties") or {}).get("criteria") or {}).get("allOf")) or []
    return [(str(c["query"]), c.get("metricMeasureColumn") or None) for c in conditions if c.get("query")]


def rule_queries(rule: Row) -> list[str]:
    return [query for query, _ in rule_conditions(rule)]


def account_list(accounts: Sequence[Any]) -> list[Account]:
    return [Account(str(a.name), str(a.upn), str(a.object_id)) for a in accounts]
