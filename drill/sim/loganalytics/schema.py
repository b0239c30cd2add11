"""SigninLogs and AuditLogs as Log Analytics stores them: real column names and Kusto types, real quirks.
(AADNonInteractiveUserSignInLogs, with its own quirks, is in noninteractive.py.)

Columns and types follow reference/schemas/ (the azure-reference-other tables). Quirks kept on purpose,
because alert queries trip over them in real tenants: ConditionalAccessPolicies, DeviceDetail,
LocationDetails, Status and MfaDetail are `dynamic`, while AuthenticationDetails, AuthenticationMethodsUsed
and AuthenticationProcessingDetails are JSON *strings*; ResultType is a string ("0" = success); CA
conditions are integers in rows (Graph has enum strings); a passwordless sign-in can carry the user's
object id in UserPrincipalName (FIDELITY.md), so queries must match on UserId.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from drill.sim.loganalytics import noninteractive
from drill.sim.loganalytics.security_tables import SECURITY_ALERT_COLUMNS, SECURITY_INCIDENT_COLUMNS
from drill.sim.state import AuditEvent, SignInEvent

SIGNIN_COLUMNS: dict[str, str] = {
    "AADTenantId": "string",
    "AlternateSignInName": "string",
    "AppDisplayName": "string",
    "AppId": "string",
    "AppliedConditionalAccessPolicies": "string",
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
    "ConditionalAccessPolicies": "dynamic",
    "ConditionalAccessStatus": "string",
    "CorrelationId": "string",
    "CreatedDateTime": "datetime",
    "CrossTenantAccessType": "string",
    "DeviceDetail": "dynamic",
    "DurationMs": "long",
    "FlaggedForReview": "bool",
    "HomeTenantId": "string",
    "Id": "string",
    "Identity": "string",
    "IPAddress": "string",
    "IPAddressFromResourceProvider": "string",
    "_IsBillable": "string",
    "IsInteractive": "bool",
    "IsRisky": "bool",
    "Level": "string",
    "Location": "string",
    "LocationDetails": "dynamic",
    "MfaDetail": "dynamic",
    "NetworkLocationDetails": "string",
    "OperationName": "string",
    "OperationVersion": "string",
    "OriginalRequestId": "string",
    "ProcessingTimeInMilliseconds": "string",
    "Resource": "string",
    "ResourceDisplayName": "string",
    "ResourceGroup": "string",
    "ResourceId": "string",
    "ResourceIdentity": "string",
    "ResourceProvider": "string",
    "ResourceServicePrincipalId": "string",
    "ResourceTenantId": "string",
    "ResultDescription": "string",
    "ResultSignature": "string",
    "ResultType": "string",
    "RiskDetail": "string",
    "RiskEventTypes": "string",
    "RiskEventTypes_V2": "string",
    "RiskLevel": "string",
    "RiskLevelAggregated": "string",
    "RiskLevelDuringSignIn": "string",
    "RiskState": "string",
    "ServicePrincipalId": "string",
    "ServicePrincipalName": "string",
    "SessionLifetimePolicies": "string",
    "SignInIdentifier": "string",
    "SignInIdentifierType": "string",
    "SourceSystem": "string",
    "Status": "dynamic",
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

AUDIT_COLUMNS: dict[str, str] = {
    "AADOperationType": "string",
    "AADTenantId": "string",
    "ActivityDateTime": "datetime",
    "ActivityDisplayName": "string",
    "AdditionalDetails": "dynamic",
    "_BilledSize": "real",
    "Category": "string",
    "CorrelationId": "string",
    "DurationMs": "long",
    "Id": "string",
    "Identity": "string",
    "InitiatedBy": "dynamic",
    "_IsBillable": "string",
    "Level": "string",
    "Location": "string",
    "LoggedByService": "string",
    "OperationName": "string",
    "OperationVersion": "string",
    "Resource": "string",
    "ResourceGroup": "string",
    "ResourceId": "string",
    "ResourceProvider": "string",
    "Result": "string",
    "ResultDescription": "string",
    "ResultReason": "string",
    "ResultSignature": "string",
    "ResultType": "string",
    "SourceSystem": "string",
    "TargetResources": "dynamic",
    "TimeGenerated": "datetime",
    "Type": "string",
}

TABLES: dict[str, dict[str, str]] = {
    "SigninLogs": SIGNIN_COLUMNS,
    "AuditLogs": AUDIT_COLUMNS,
    noninteractive.TABLE: noninteractive.COLUMNS,
    # Microsoft Sentinel's tables in the same workspace (loganalytics/sentinel.py writes them).
    "SecurityAlert": SECURITY_ALERT_COLUMNS,
    "SecurityIncident": SECURITY_INCIDENT_COLUMNS,
}
# The diagnostic-setting category that feeds each table.
CATEGORY_OF = {
    "SigninLogs": "SignInLogs",
    "AuditLogs": "AuditLogs",
    noninteractive.TABLE: noninteractive.CATEGORY,
}
DUCK_TYPES = {
    "string": "VARCHAR",
    "datetime": "TIMESTAMPTZ",
    "dynamic": "JSON",
    "long": "BIGINT",
    "real": "DOUBLE",
    "bool": "BOOLEAN",
    "int": "INTEGER",
    "guid": "VARCHAR",
}
PASSKEY_METHODS = {"Passkey (device-bound)", "FIDO2 security key", "FIDO2", "Passkey"}

# Graph's conditionsSatisfied flags -> the integer Log Analytics rows carry.
CONDITION_FLAGS = {
    "none": 0,
    "application": 1,
    "users": 2,
    "devicePlatform": 4,
    "location": 8,
    "clientType": 16,
    "signInRisk": 32,
    "userRisk": 64,
    "time": 128,
    "deviceState": 256,
    "client": 512,
    "ipAddressSeenByAzureAD": 1024,
    "ipAddressSeenByResourceProvider": 2048,
    "unknownFutureValue": 4096,
    "servicePrincipals": 8192,
    "servicePrincipalRisk": 16384,
    "authenticationFlows": 32768,
    "insiderRisk": 65536,
}

AAD_RESOURCE = "Microsoft.aadiam"


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _bits(value: Any) -> int:
    if isinstance(value, int):
        return value
    return sum(CONDITION_FLAGS.get(part.strip(), 0) for part in str(value or "").split(",") if part.strip())


def _ca_item(item: dict[str, Any]) -> dict[str, Any]:
    out = dict(item)
    out["conditionsSatisfied"] = _bits(item.get("conditionsSatisfied"))
    out["conditionsNotSatisfied"] = _bits(item.get("conditionsNotSatisfied"))
    return out


def _common(tenant_id: str, category: str, time_generated: datetime) -> dict[str, Any]:
    return {
        "AADTenantId": tenant_id,
        "TimeGenerated": time_generated,
        "Category": category,
        "SourceSystem": "Azure AD",
        "OperationVersion": "1.0",
        "Resource": AAD_RESOURCE,
        "ResourceGroup": AAD_RESOURCE,
        "ResourceProvider": AAD_RESOURCE,
        "ResourceId": f"/tenants/{tenant_id}/providers/{AAD_RESOURCE}",
        "_IsBillable": "False",
        "_BilledSize": 0.0,
        "DurationMs": 0,
    }


def signin_row(event: SignInEvent, tenant_id: str, time_generated: datetime) -> dict[str, Any]:
    """One SigninLogs row for a sign-in event, ingested at `time_generated`."""
    failed = event.result_type != "0"
    passkey = any(d.get("authenticationMethod") in PASSKEY_METHODS for d in event.authentication_details)
    code = 0 if not failed else int(event.result_type) if event.result_type.isdigit() else -1
    row = _common(tenant_id, "SignInLogs", time_generated)
    row.update(
        {
            "Type": "SigninLogs",
            "OperationName": "Sign-in activity",
            "Level": "4",
            "Location": "",
            "CreatedDateTime": event.created,
            "Id": event.id,
            "CorrelationId": event.correlation_id,
            "OriginalRequestId": event.id,
            "UniqueTokenIdentifier": event.extra.get("uniqueTokenIdentifier", ""),
            "UserId": event.user_id,
            # Passwordless sign-ins can log the object id where the UPN would be (FIDELITY.md).
            "UserPrincipalName": event.user_id if passkey else event.user_principal_name,
            "AlternateSignInName": event.user_principal_name,
            "SignInIdentifier": event.user_principal_name,
            "SignInIdentifierType": "userPrincipalName",
            "UserDisplayName": event.user_display_name,
            "Identity": event.user_display_name,
            "UserType": "Member",
            "HomeTenantId": tenant_id,
            "ResourceTenantId": tenant_id,
            "AppId": event.app_id,
            "AppDisplayName": event.app_display_name,
            "ResourceIdentity": event.resource_id,
            "ResourceDisplayName": event.resource_display_name,
            "ResourceServicePrincipalId": "",
            "ServicePrincipalId": "",
            "ServicePrincipalName": "",
            "IPAddress": event.ip_address,
            "IPAddressFromResourceProvider": "",
            "AutonomousSystemNumber": "",
            "ClientAppUsed": event.client_app_used,
            "UserAgent": event.user_agent,
            "IsInteractive": event.is_interactive,
            "IsRisky": False,
            "FlaggedForReview": False,
            "RiskDetail": "none",
            "RiskEventTypes": "[]",
            "RiskEventTypes_V2": "[]",
            "RiskLevel": "",
            "RiskLevelAggregated": "none",
            "RiskLevelDuringSignIn": "none",
            "RiskState": "none",
            "ResultType": event.result_type,
            "ResultDescription": event.result_description,
            "ResultSignature": "None",
            "Status": {
                "errorCode": code,
                "failureReason": event.extra.get("failureReason") or ("Other." if failed else None),
                "additionalDetails": None,
            },
            "ConditionalAccessStatus": event.conditional_access_status,
            "ConditionalAccessPolicies": [_ca_item(p) for p in event.applied_policies],
            "AppliedConditionalAccessPolicies": "",
            "AppliedEventListeners": [],
            "AuthenticationRequirement": event.authentication_requirement,
            "AuthenticationRequirementPolicies": json.dumps(
                [{"requirementProvider": "multiConditionalAccess", "detail": "Conditional Access"}]
                if event.applied_policies
                else []
            ),
            "AuthenticationDetails": json.dumps(event.authentication_details),
            "AuthenticationMethodsUsed": json.dumps(event.authentication_methods_used),
            "AuthenticationProcessingDetails": json.dumps(
                [{"key": "Legacy TLS (TLS 1.0, 1.1, 3DES)", "value": "False"}]
                + ([{"key": "Passkey Type", "value": "deviceBound"}] if passkey else [])
            ),
            "AuthenticationProtocol": "none",
            "AuthenticationContextClassReferences": "[]",
            "CrossTenantAccessType": "none",
            "DeviceDetail": {"deviceId": "", "operatingSystem": "Linux", "browser": "Chrome"},
            "LocationDetails": {"city": "", "state": "", "countryOrRegion": "", "geoCoordinates": {}},
            "MfaDetail": {},
            "NetworkLocationDetails": "[]",
            "ProcessingTimeInMilliseconds": "120",
            "SessionLifetimePolicies": "[]",
            "TokenIssuerName": "",
            "TokenIssuerType": "AzureAD",
        }
    )
    return row


def audit_row(event: AuditEvent, tenant_id: str, time_generated: datetime) -> dict[str, Any]:
    row = _common(tenant_id, "AuditLogs", time_generated)
    row.update(
        {
            "Type": "AuditLogs",
            "Level": "4",
            "Location": "",
            "Id": event.id,
            "CorrelationId": event.correlation_id,
            "ActivityDateTime": event.created,
            "ActivityDisplayName": event.operation_name,
            "OperationName": event.operation_name,
            "AADOperationType": event.operation_name.split(" ", 1)[0],
            "Category": event.category,
            "Result": event.result,
            "ResultType": "",
            "ResultReason": event.result_reason,
            "ResultDescription": event.result_reason,
            "ResultSignature": "None",
            "LoggedByService": event.logged_by_service,
            "Identity": (event.initiated_by.get("user") or event.initiated_by.get("app") or {}).get(
                "displayName", ""
            ),
            "InitiatedBy": event.initiated_by,
            "TargetResources": event.target_resources,
            "AdditionalDetails": event.additional_details,
        }
    )
    return row
