"""SecurityAlert and SecurityIncident as Log Analytics stores them (Microsoft Sentinel's own tables).

Columns and Kusto types follow Microsoft's table references (azure-reference-other
`azure-monitor-ref/tables/includes/securityalert-include.md`; learn.microsoft.com
`azure-monitor/reference/tables/securityincident`). Quirks kept because queries trip over them:
SecurityAlert's `Entities` and `ExtendedProperties` are JSON *strings* (queries use `todynamic()`), while
SecurityIncident's `Owner`, `AlertIds`, `RelatedAnalyticRuleIds` and `AdditionalData` are `dynamic`; an
incident gets a new row every time it changes, so a reader takes the latest row per IncidentNumber.
"""

from __future__ import annotations

SECURITY_ALERT_COLUMNS: dict[str, str] = {
    "TenantId": "string",
    "TimeGenerated": "datetime",
    "DisplayName": "string",
    "AlertName": "string",
    "AlertSeverity": "string",
    "Description": "string",
    "ProviderName": "string",
    "VendorName": "string",
    "VendorOriginalId": "string",
    "SystemAlertId": "string",
    "ResourceId": "string",
    "SourceComputerId": "string",
    "AlertType": "string",
    "ConfidenceLevel": "string",
    "ConfidenceScore": "real",
    "IsIncident": "bool",
    "StartTime": "datetime",
    "EndTime": "datetime",
    "ProcessingEndTime": "datetime",
    "RemediationSteps": "string",
    "ExtendedProperties": "string",
    "Entities": "string",
    "SourceSystem": "string",
    "WorkspaceSubscriptionId": "string",
    "WorkspaceResourceGroup": "string",
    "ExtendedLinks": "string",
    "ProductName": "string",
    "ProductComponentName": "string",
    "AlertLink": "string",
    "Status": "string",
    "CompromisedEntity": "string",
    "Tactics": "string",
    "Techniques": "string",
    "SubTechniques": "string",
    "Type": "string",
}

SECURITY_INCIDENT_COLUMNS: dict[str, str] = {
    "TenantId": "string",
    "TimeGenerated": "datetime",
    "IncidentName": "string",
    "Title": "string",
    "Description": "string",
    "Severity": "string",
    "Status": "string",
    "Classification": "string",
    "ClassificationComment": "string",
    "ClassificationReason": "string",
    "Owner": "dynamic",
    "ProviderName": "string",
    "ProviderIncidentId": "string",
    "FirstActivityTime": "datetime",
    "LastActivityTime": "datetime",
    "FirstModifiedTime": "datetime",
    "LastModifiedTime": "datetime",
    "CreatedTime": "datetime",
    "ClosedTime": "datetime",
    "IncidentNumber": "int",
    "RelatedAnalyticRuleIds": "dynamic",
    "AlertIds": "dynamic",
    "BookmarkIds": "dynamic",
    "Comments": "dynamic",
    "Tasks": "dynamic",
    "Labels": "dynamic",
    "IncidentUrl": "string",
    "AdditionalData": "dynamic",
    "ModifiedBy": "string",
    "SourceSystem": "string",
    "Type": "string",
}
