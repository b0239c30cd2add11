"""AADNonInteractiveUserSignInLogs: the table Entra's NonInteractiveUserSignInLogs category fills.

A client redeeming a refresh token signs the user in without any prompt; Entra logs that here, not in
SigninLogs. Columns and types follow the published table (MicrosoftDocs/azure-reference-other,
azure-monitor-ref/tables/includes/aadnoninteractiveusersigninlogs-include.md @ 431071fd, 2024-07-30), which
differ from SigninLogs on purpose: ConditionalAccessPolicies, DeviceDetail, LocationDetails, MfaDetail and
Status are *strings* here (queries use `parse_json`/`todynamic`), the workspace's id is `TenantId` (no
AADTenantId column), processing time is `ProcessingTimeInMs`, and `SignInEventTypes` is added.
"""

from __future__ import annotations

import json
from typing import Any

TABLE = "AADNonInteractiveUserSignInLogs"
CATEGORY = "NonInteractiveUserSignInLogs"

COLUMNS: dict[str, str] = {
    "AlternateSignInName": "string",
    "AppDisplayName": "string",
    "AppId": "string",
    "AppliedEventListeners": "dynamic",
    "AuthenticationContextClassReferences": "string",
    "AuthenticationDetails": "string",
    "AuthenticationMethodsUsed": "string",
    "AuthenticationProcessingDetails": "string",
    "AuthenticationProtocol": "string",
    "AuthenticationRequirement": "string",
    "AuthenticationRequirementPolicies": "string",
    "AutonomousSystemNumber": "string",
    "_BilledSize": "real",
    "Category": "string",
    "ClientAppUsed": "string",
    "ConditionalAccessPolicies": "string",
    "ConditionalAccessStatus": "string",
    "CorrelationId": "string",
    "CreatedDateTime": "datetime",
    "CrossTenantAccessType": "string",
    "DeviceDetail": "string",
    "DurationMs": "long",
    "HomeTenantId": "string",
    "Id": "string",
    "Identity": "string",
    "IPAddress": "string",
    "_IsBillable": "string",
    "IsInteractive": "bool",
    "IsRisky": "bool",
    "Level": "string",
    "Location": "string",
    "LocationDetails": "string",
    "MfaDetail": "string",
    "NetworkLocationDetails": "string",
    "OperationName": "string",
    "OperationVersion": "string",
    "OriginalRequestId": "string",
    "ProcessingTimeInMs": "string",
    "ResourceDisplayName": "string",
    "ResourceGroup": "string",
    "ResourceIdentity": "string",
    "ResourceServicePrincipalId": "string",
    "ResourceTenantId": "string",
    "ResultDescription": "string",
    "ResultSignature": "string",
    "ResultType": "string",
    "RiskDetail": "string",
    "RiskEventTypes": "string",
    "RiskEventTypes_V2": "string",
    "RiskLevelAggregated": "string",
    "RiskLevelDuringSignIn": "string",
    "RiskState": "string",
    "ServicePrincipalId": "string",
    "SessionLifetimePolicies": "string",
    "SignInEventTypes": "string",
    "SignInIdentifierType": "string",
    "SourceSystem": "string",
    "Status": "string",
    "TenantId": "string",
    "TimeGenerated": "datetime",
    "TokenIssuerName": "string",
    "TokenIssuerType": "string",
    "Type": "string",
    "UniqueTokenIdentifier": "string",
    "UserAgent": "string",
    "UserDisplayName": "string",
    "UserId": "string",
    "UserPrincipalName": "string",
    "UserType": "string",
}


def noninteractive_row(signin: dict[str, Any], workspace_id: str) -> dict[str, Any]:
    """The non-interactive row of a sign-in, from the SigninLogs-shaped row of the same event.

    Values the two tables share are carried over; `dynamic` SigninLogs values this table types `string`
    become their JSON text. Everything not in this table's published columns is dropped.
    """
    row: dict[str, Any] = {}
    for name, kind in COLUMNS.items():
        value = signin.get(name)
        if kind == "string" and isinstance(value, dict | list):
            value = json.dumps(value)
        row[name] = value
    row.update(
        Type=TABLE,
        Category=CATEGORY,
        TenantId=workspace_id,
        IsInteractive=False,
        ProcessingTimeInMs=signin.get("ProcessingTimeInMilliseconds"),
        # The published description's own example for a refresh-token redemption (BELIEF: no real row seen).
        SignInEventTypes=json.dumps(["refreshToken"]),
    )
    return row
