"""Every call the product makes to Graph, Exchange, SharePoint, ARM and Log Analytics, and the grant it needs.

One list, read by the preflight, the audit and the scheduler (which check these grants before touching
anything), by the simulator's tests (every request the product sends must be declared here) and by
`docs/PERMISSIONS.md` (generated from it). Each grant's `source` is Microsoft's page naming that permission
or role for the calls; each call's `least` is the permission Microsoft marks least privileged for it alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from drill.permissions.model import (
    SCOPE_AADIAM,
    SCOPE_MAILBOX,
    SCOPE_RESOURCE_GROUP,
    SCOPE_SITE,
    SCOPE_TENANT,
    SCOPE_WORKSPACE,
    Call,
    Feature,
    Grant,
    Identity,
    Kind,
    Service,
)

F = Feature
GRAPH, MAIL, SP, ARM, LOGS = Service.GRAPH, Service.MAIL, Service.SHAREPOINT, Service.ARM, Service.LOGS
DOCS = "https://learn.microsoft.com/graph/api/"
_RG = "/subscriptions/{sub}/resourceGroups/{rg}/providers/"
_WS = _RG + "Microsoft.OperationalInsights/workspaces/{ws}"


def _c(
    service: Service, method: str, template: str, features: Iterable[Feature], least: str, page: str
) -> Call:
    url = page if "://" in page else DOCS + page
    return Call(service, method, template, frozenset(features), least, url)


_ROLE_READS_DRILL = (
    _c(GRAPH, "GET", "/roleManagement/directory/roleAssignmentScheduleInstances", [F.DRILL],
       "RoleAssignmentSchedule.Read.Directory", "rbacapplication-list-roleassignmentscheduleinstances"),
    _c(GRAPH, "GET", "/roleManagement/directory/roleEligibilityScheduleInstances", [F.DRILL],
       "RoleEligibilitySchedule.Read.Directory", "rbacapplication-list-roleeligibilityscheduleinstances"),
    _c(GRAPH, "GET", "/roleManagement/directory/roleAssignments", [F.DRILL],
       "RoleManagement.Read.Directory", "rbacapplication-list-roleassignments"),
)  # fmt: skip

_DRILL_APP = (
    Grant(
        id="drill-app-user-read",
        identity=Identity.DRILL_APP, kind=Kind.DELEGATED, permission="User.Read", resource="Microsoft Graph",
        scope=SCOPE_TENANT,
        why="the GA proof reads the signed-in break-glass account itself",
        source=DOCS + "user-get",
        calls=(_c(GRAPH, "GET", "/users/{id}", [F.DRILL], "User.Read", "user-get"),),
        satisfied_by=("User.ReadWrite", "User.ReadBasic.All", "User.Read.All", "Directory.Read.All"),
    ),
    Grant(
        id="drill-app-rolemanagement-read-directory",
        identity=Identity.DRILL_APP, kind=Kind.DELEGATED, permission="RoleManagement.Read.Directory",
        resource="Microsoft Graph", scope=SCOPE_TENANT,
        why="the GA proof reads the account's active and eligible Global Administrator assignments (PIM "
        "schedule instances, or role assignments without a PIM licence): one permission covers all three",
        source=DOCS + "rbacapplication-list-roleassignments",
        calls=_ROLE_READS_DRILL,
        satisfied_by=("RoleManagement.Read.All", "RoleManagement.ReadWrite.Directory"),
    ),
    Grant(
        id="drill-app-group-readwrite-all",
        identity=Identity.DRILL_APP, kind=Kind.DELEGATED, permission="Group.ReadWrite.All",
        resource="Microsoft Graph", scope=SCOPE_TENANT,
        why="the admin task reads the target group and writes (then restores) its description",
        source=DOCS + "group-update",
        calls=(
            _c(GRAPH, "GET", "/groups/{id}", [F.ADMIN_TASK], "GroupMember.Read.All", "group-get"),
            _c(GRAPH, "PATCH", "/groups/{id}", [F.ADMIN_TASK], "Group.ReadWrite.All", "group-update"),
        ),
        satisfied_by=("Directory.ReadWrite.All",),
    ),
    Grant(
        id="drill-app-user-revokesessions-all",
        identity=Identity.DRILL_APP, kind=Kind.DELEGATED, permission="User.RevokeSessions.All",
        resource="Microsoft Graph", scope=SCOPE_TENANT,
        why="cleanup revokes the break-glass account's sessions after the drill",
        source=DOCS + "user-revokesigninsessions",
        calls=(_c(GRAPH, "POST", "/users/{id}/revokeSignInSessions", [F.REVOKE], "User.RevokeSessions.All",
                  "user-revokesigninsessions"),),
        satisfied_by=("User.ReadWrite.All", "Directory.ReadWrite.All"),
    ),
)  # fmt: skip

_MAIL_READS = (
    _c(MAIL, "GET", "/users/{mailbox}/messages", [F.MAIL_WATCH, F.KEYLESS], "Mail.ReadBasic.All",
       "user-list-messages"),
)  # fmt: skip

_DIRECTORY_READS = (
    _c(GRAPH, "GET", "/domains", [F.AUDIT], "Domain.Read.All", "domain-list"),
    _c(GRAPH, "GET", "/users/{id}", [F.AUDIT, F.KEYLESS], "User.Read.All", "user-get"),
    _c(GRAPH, "GET", "/users/{id}/transitiveMemberOf", [F.AUDIT], "User.Read.All",
       "user-list-transitivememberof"),
    _c(GRAPH, "GET", "/groups/{id}", [F.AUDIT], "GroupMember.Read.All", "group-get"),
    _c(GRAPH, "GET", "/groups/{id}/members", [F.AUDIT], "GroupMember.Read.All", "group-list-members"),
    _c(GRAPH, "GET", "/directory/administrativeUnits/{id}", [F.AUDIT], "AdministrativeUnit.Read.All",
       "administrativeunit-get"),
    _c(GRAPH, "GET", "/directory/administrativeUnits/{id}/members", [F.AUDIT], "AdministrativeUnit.Read.All",
       "administrativeunit-list-members"),
)  # fmt: skip

# The self-check (preflight, audit, schedule) reads what is granted before anything else runs.
_GRANT_READS = (
    _c(GRAPH, "GET", "/servicePrincipals(appId='{app_id}')", list(Feature), "Application.Read.All",
       "serviceprincipal-get"),
    _c(GRAPH, "GET", "/servicePrincipals/{id}/oauth2PermissionGrants", list(Feature), "Directory.Read.All",
       "serviceprincipal-list-oauth2permissiongrants"),
    _c(GRAPH, "GET", "/servicePrincipals/{id}/appRoleAssignments", list(Feature), "Application.Read.All",
       "serviceprincipal-list-approleassignments"),
    _c(GRAPH, "GET", "/servicePrincipals/{id}/appRoleAssignedTo", list(Feature), "Application.Read.All",
       "serviceprincipal-list-approleassignedto"),
)  # fmt: skip

_ROLE_READS_OBSERVER = (
    _c(GRAPH, "GET", "/roleManagement/directory/roleAssignmentScheduleInstances", [F.AUDIT, F.KEYLESS],
       "RoleAssignmentSchedule.Read.Directory", "rbacapplication-list-roleassignmentscheduleinstances"),
    _c(GRAPH, "GET", "/roleManagement/directory/roleEligibilityScheduleInstances", [F.AUDIT],
       "RoleEligibilitySchedule.Read.Directory", "rbacapplication-list-roleeligibilityscheduleinstances"),
    _c(GRAPH, "GET", "/roleManagement/directory/roleAssignments", [F.AUDIT, F.KEYLESS],
       "RoleManagement.Read.Directory", "rbacapplication-list-roleassignments"),
    _c(GRAPH, "GET", "/roleManagement/directory/roleDefinitions/{id}", [F.AUDIT],
       "RoleManagement.Read.Directory", "unifiedroledefinition-get"),
    _c(GRAPH, "GET", "/policies/roleManagementPolicyAssignments", [F.AUDIT],
       "RoleManagementPolicy.Read.Directory", "policyroot-list-rolemanagementpolicyassignments"),
)  # fmt: skip

_POLICY_READS = (
    _c(GRAPH, "GET", "/identity/conditionalAccess/policies", [F.AUDIT], "Policy.Read.All",
       "conditionalaccessroot-list-policies"),
    _c(GRAPH, "POST", "/identity/conditionalAccess/evaluate", [F.AUDIT], "Policy.Read.ConditionalAccess",
       "conditionalaccessroot-evaluate"),
    _c(GRAPH, "GET", "/policies/authenticationStrengthPolicies", [F.AUDIT], "Policy.Read.All",
       "authenticationstrengthroot-list-policies"),
    _c(GRAPH, "GET", "/policies/authenticationMethodsPolicy", [F.AUDIT], "Policy.Read.AuthenticationMethod",
       "authenticationmethodspolicy-get"),
)  # fmt: skip

_SITE_CALLS = (
    _c(SP, "GET", "/sites/{host}:/{path}", [F.FILING], "Sites.Selected", "site-getbypath"),
    _c(SP, "GET", "/sites/{id}/drives", [F.FILING], "Sites.Selected", "drive-list"),
    _c(SP, "GET", "/drives/{id}/items/root:/{path}:", [F.FILING], "Sites.Selected", "driveitem-get"),
    _c(SP, "GET", "/drives/{id}/items/root:/{path}:/children", [F.FILING], "Sites.Selected",
       "driveitem-list-children"),
    _c(SP, "GET", "/drives/{id}/items/{item}/content", [F.FILING], "Sites.Selected", "driveitem-get-content"),
    _c(SP, "PUT", "/drives/{id}/items/root:/{path}:/content", [F.FILING], "Sites.Selected",
       "driveitem-put-content"),
    _c(SP, "POST", "/drives/{id}/items/{item}:/{path}:/createUploadSession", [F.FILING], "Sites.Selected",
       "driveitem-createuploadsession"),
)  # fmt: skip

_OBSERVER_GRAPH = (
    Grant(
        id="observer-mail-read",
        identity=Identity.OBSERVER, kind=Kind.APPLICATION, permission="Mail.Read", resource="Microsoft Graph",
        scope=SCOPE_MAILBOX,
        why="the alert step (and the preflight, and the daily keyless check) read the alert mailbox for the "
        "alert mail; Mail.ReadBasic.All would not return the body the alert is parsed from",
        source=DOCS + "user-list-messages",
        calls=_MAIL_READS,
        satisfied_by=("Mail.ReadWrite",),
        exchange_role="Application Mail.Read",
    ),
    Grant(
        id="observer-mail-send",
        identity=Identity.OBSERVER, kind=Kind.APPLICATION, permission="Mail.Send", resource="Microsoft Graph",
        scope=SCOPE_MAILBOX,
        why="the announcement before a drill and the scheduler's reminders are sent from the alert mailbox",
        source=DOCS + "user-sendmail",
        calls=(_c(MAIL, "POST", "/users/{mailbox}/sendMail", [F.ANNOUNCE, F.SCHEDULER_MAIL], "Mail.Send",
                  "user-sendmail"),),
        exchange_role="Application Mail.Send",
    ),
    Grant(
        id="observer-directory-read-all",
        identity=Identity.OBSERVER, kind=Kind.APPLICATION, permission="Directory.Read.All",
        resource="Microsoft Graph", scope=SCOPE_TENANT,
        why="the permission self-check reads the apps' delegated grants (Directory.Read.All is the least "
        "privileged permission for oauth2PermissionGrants); the audit reads the accounts, their group, their "
        "administrative units, every membership and the domains; the keyless check reads the accounts",
        source=DOCS + "serviceprincipal-list-oauth2permissiongrants",
        calls=(*_GRANT_READS, *_DIRECTORY_READS),
        satisfied_by=("Directory.ReadWrite.All",),
    ),
    Grant(
        id="observer-rolemanagement-read-directory",
        identity=Identity.OBSERVER, kind=Kind.APPLICATION, permission="RoleManagement.Read.Directory",
        resource="Microsoft Graph", scope=SCOPE_TENANT,
        why="the audit and the keyless check read who holds Global Administrator (PIM instances, or role "
        "assignments without a PIM licence), the roles scoped to the break-glass unit and their PIM settings",
        source=DOCS + "rbacapplication-list-roleassignments",
        calls=_ROLE_READS_OBSERVER,
        satisfied_by=("RoleManagement.Read.All", "RoleManagement.ReadWrite.Directory"),
    ),
    Grant(
        id="observer-policy-read-all",
        identity=Identity.OBSERVER, kind=Kind.APPLICATION, permission="Policy.Read.All",
        resource="Microsoft Graph", scope=SCOPE_TENANT,
        why="the audit reads the Conditional Access policies, the authentication strengths and the "
        "authentication methods policy, and asks What If for each account",
        source=DOCS + "conditionalaccessroot-list-policies",
        calls=_POLICY_READS,
    ),
    Grant(
        id="observer-userauthenticationmethod-read-all",
        identity=Identity.OBSERVER, kind=Kind.APPLICATION, permission="UserAuthenticationMethod.Read.All",
        resource="Microsoft Graph", scope=SCOPE_TENANT,
        why="the audit reads each account's registered methods and passkeys; a drill on the Windows "
        "WebAuthn path reads the account's passkeys to prove the key's model after the ceremony",
        source=DOCS + "authentication-list-methods",
        calls=(
            _c(GRAPH, "GET", "/users/{id}/authentication/methods", [F.AUDIT],
               "UserAuthenticationMethod.Read.All", "authentication-list-methods"),
            _c(GRAPH, "GET", "/users/{id}/authentication/fido2Methods", [F.AUDIT, F.WINDOWS_KEY],
               "UserAuthenticationMethod.Read.All", "fido2authenticationmethod-list"),
        ),
        satisfied_by=("UserAuthenticationMethod.ReadWrite.All",),
    ),
    Grant(
        id="observer-authenticationcontext-read-all",
        identity=Identity.OBSERVER, kind=Kind.APPLICATION, permission="AuthenticationContext.Read.All",
        resource="Microsoft Graph", scope=SCOPE_TENANT,
        why="the audit resolves the authentication contexts the accounts' PIM rules and policies name",
        source=DOCS + "conditionalaccessroot-list-authenticationcontextclassreferences",
        calls=(_c(GRAPH, "GET", "/identity/conditionalAccess/authenticationContextClassReferences", [F.AUDIT],
                  "AuthenticationContext.Read.All",
                  "conditionalaccessroot-list-authenticationcontextclassreferences"),),
        satisfied_by=("AuthenticationContext.ReadWrite.All", "Policy.Read.ConditionalAccess"),
    ),
    Grant(
        id="observer-sites-selected",
        identity=Identity.OBSERVER, kind=Kind.APPLICATION, permission="Sites.Selected",
        resource="Microsoft Graph", scope=SCOPE_SITE,
        why="filing copies the signed bundle into one SharePoint library and reads it back to verify it",
        source="https://learn.microsoft.com/graph/permissions-selected-overview",
        calls=_SITE_CALLS,
        site_role="write",
    ),
    Grant(
        id="observer-securityincident-read-all",
        identity=Identity.OBSERVER, kind=Kind.APPLICATION, permission="SecurityIncident.Read.All",
        resource="Microsoft Graph", scope=SCOPE_TENANT,
        why="with the workspace onboarded to the Defender portal (sentinel.defender_onboarded), the incident "
        "step reads the Sentinel incident and its alerts through Microsoft Graph's /security/incidents",
        source=DOCS + "security-list-incidents",
        calls=(
            _c(GRAPH, "GET", "/security/incidents", [F.DEFENDER], "SecurityIncident.Read.All",
               "security-list-incidents"),
            _c(GRAPH, "GET", "/security/incidents/{id}", [F.DEFENDER], "SecurityIncident.Read.All",
               "security-incident-get"),
        ),
        satisfied_by=("SecurityIncident.ReadWrite.All",),
    ),
)  # fmt: skip

_ARM_MONITORING = (
    _c(ARM, "GET", _RG + "Microsoft.Insights/scheduledQueryRules/{name}", [F.DRILL, F.AUDIT],
       "Monitoring Reader", "https://learn.microsoft.com/azure/azure-monitor/roles-permissions-security"),
    _c(ARM, "GET", _RG + "Microsoft.Insights/actionGroups/{name}", [F.DRILL, F.AUDIT],
       "Monitoring Reader", "https://learn.microsoft.com/azure/azure-monitor/roles-permissions-security"),
    _c(ARM, "GET", "/subscriptions/{sub}/providers/Microsoft.AlertsManagement/alerts", [F.DRILL],
       "Monitoring Reader", "https://learn.microsoft.com/azure/azure-monitor/roles-permissions-security"),
    _c(ARM, "GET", "{scope}/providers/Microsoft.Authorization/roleAssignments", [F.AUDIT],
       "Reader", "https://learn.microsoft.com/azure/role-based-access-control/role-assignments-list-rest"),
    _c(ARM, "GET", "{scope}/providers/Microsoft.Authorization/roleDefinitions/{id}", [F.AUDIT],
       "Reader", "https://learn.microsoft.com/azure/role-based-access-control/role-definitions-list"),
    _c(ARM, "GET", _WS + "/providers/Microsoft.SecurityInsights/alertRules", [F.AUDIT],
       "Microsoft Sentinel Reader", "https://learn.microsoft.com/azure/sentinel/roles"),
    _c(ARM, "GET", _WS + "/providers/Microsoft.SecurityInsights/alertRules/{id}", [F.SENTINEL],
       "Microsoft Sentinel Reader", "https://learn.microsoft.com/rest/api/securityinsights/alert-rules/get"),
    _c(ARM, "GET", _WS + "/providers/Microsoft.SecurityInsights/automationRules", [F.SENTINEL],
       "Microsoft Sentinel Reader", "https://learn.microsoft.com/rest/api/securityinsights/automation-rules/list"),
)  # fmt: skip

_OBSERVER_AZURE = (
    Grant(
        id="observer-log-analytics-reader",
        identity=Identity.OBSERVER, kind=Kind.AZURE_ROLE, permission="Log Analytics Reader",
        resource="Azure Resource Manager", scope=SCOPE_WORKSPACE,
        why="the drill waits for the sign-in's row, runs the deployed alert queries and reads Sentinel's "
        "SecurityAlert and SecurityIncident rows, and the watch and the audit query the workspace",
        source="https://learn.microsoft.com/azure/azure-monitor/logs/manage-access",
        calls=(_c(LOGS, "POST", "/workspaces/{id}/query", [F.DRILL, F.AUDIT, F.WATCH, F.KEYLESS, F.SENTINEL],
                  "Log Analytics Reader", "https://learn.microsoft.com/azure/azure-monitor/logs/api/access-api"),),
        satisfied_by=("Reader", "Monitoring Reader", "Log Analytics Contributor", "Monitoring Contributor",
                      "Contributor", "Owner"),
    ),
    Grant(
        id="observer-monitoring-reader",
        identity=Identity.OBSERVER, kind=Kind.AZURE_ROLE, permission="Monitoring Reader",
        resource="Azure Resource Manager", scope=SCOPE_RESOURCE_GROUP,
        why="the preflight and the audit read the deployed alert rules, action groups, fired alerts, the "
        "rules' identities' role assignments, and Sentinel's analytics rules and automation rules",
        source="https://learn.microsoft.com/azure/azure-monitor/roles-permissions-security",
        calls=_ARM_MONITORING,
        satisfied_by=("Reader", "Monitoring Contributor", "Contributor", "Owner"),
    ),
    Grant(
        id="observer-reader",
        identity=Identity.OBSERVER, kind=Kind.AZURE_ROLE, permission="Reader",
        resource="Azure Resource Manager", scope=SCOPE_AADIAM,
        why="the preflight and the audit read Entra ID's diagnostic settings (the logs' route to the "
        "workspace), which live at the tenant scope /providers/Microsoft.aadiam",
        source="https://learn.microsoft.com/entra/identity/monitoring-health/howto-configure-diagnostic-settings",
        calls=(_c(ARM, "GET", "/providers/microsoft.aadiam/diagnosticSettings", [F.DRILL, F.AUDIT],
                  "Reader", "https://learn.microsoft.com/entra/identity/monitoring-health/howto-configure-diagnostic-settings"),),
        satisfied_by=("Monitoring Reader", "Monitoring Contributor", "Contributor", "Owner"),
        notes=("BELIEF: which role reads these settings is not documented; Azure's Security Reader has no "
               "aadiam action (drill/sim/arm/README.md), a `*/read` role at the scope does",
               "Optional: some tenants refuse applications this read whatever their roles "
               "(azure-rest-api-specs #11085); without it the drill's own SigninLogs and AuditLogs rows "
               "are the proof, and the preflight and the audit say so as a finding",),
        optional=True,
    ),
)  # fmt: skip

_AUTH = "https://learn.microsoft.com/rest/api/authorization/role-assignments/create"
_SQR = "https://learn.microsoft.com/rest/api/monitor/scheduled-query-rules/create-or-update"
_AG = "https://learn.microsoft.com/rest/api/monitor/action-groups/create-or-update"
_AADIAM = "https://learn.microsoft.com/entra/identity/monitoring-health/howto-configure-diagnostic-settings"
# `drill setup`: the administrator's own delegated sign-in (Microsoft Graph Command Line Tools by default).
_SETUP_ADMIN = (
    Grant(
        id="setup-admin-directory-read-all",
        identity=Identity.SETUP_ADMIN, kind=Kind.DELEGATED, permission="Directory.Read.All",
        resource="Microsoft Graph", scope=SCOPE_TENANT,
        why="setup finds the accounts' object ids, their group and unit, the admin's own roles, the apps it "
        "made before and the grants they hold",
        source=DOCS + "user-get",
        calls=(
            _c(GRAPH, "GET", "/users/{id}", [F.SETUP], "User.Read.All", "user-get"),
            _c(GRAPH, "GET", "/users/{id}/transitiveMemberOf", [F.SETUP], "Directory.Read.All",
               "user-list-transitivememberof"),
            _c(GRAPH, "GET", "/domains", [F.SETUP], "Domain.Read.All", "domain-list"),
            _c(GRAPH, "GET", "/servicePrincipals(appId='{app_id}')", [F.SETUP], "Application.Read.All",
               "serviceprincipal-get"),
            _c(GRAPH, "GET", "/servicePrincipals/{id}/oauth2PermissionGrants", [F.SETUP],
               "Directory.Read.All", "serviceprincipal-list-oauth2permissiongrants"),
            _c(GRAPH, "GET", "/servicePrincipals/{id}/appRoleAssignments", [F.SETUP], "Application.Read.All",
               "serviceprincipal-list-approleassignments"),
            _c(GRAPH, "GET", "/applications", [F.SETUP], "Application.Read.All", "application-list"),
            _c(GRAPH, "GET", "/applications/{id}/federatedIdentityCredentials", [F.SETUP],
               "Application.Read.All", "federatedidentitycredential-list"),
        ),
        satisfied_by=("Directory.ReadWrite.All",),
    ),
    Grant(
        id="setup-admin-userauthenticationmethod-read-all",
        identity=Identity.SETUP_ADMIN, kind=Kind.DELEGATED, permission="UserAuthenticationMethod.Read.All",
        resource="Microsoft Graph", scope=SCOPE_TENANT,
        why="setup reads the accounts' registered passkeys for their AAGUIDs (the key models the drill "
        "expects)",
        source=DOCS + "fido2authenticationmethod-list",
        calls=(_c(GRAPH, "GET", "/users/{id}/authentication/fido2Methods", [F.SETUP],
                  "UserAuthenticationMethod.Read.All", "fido2authenticationmethod-list"),),
        satisfied_by=("UserAuthenticationMethod.ReadWrite.All",),
    ),
    Grant(
        id="setup-admin-policy-read-all",
        identity=Identity.SETUP_ADMIN, kind=Kind.DELEGATED, permission="Policy.Read.All",
        resource="Microsoft Graph", scope=SCOPE_TENANT,
        why="setup lists the Conditional Access policies that apply to or exclude the accounts",
        source=DOCS + "conditionalaccessroot-list-policies",
        calls=(_c(GRAPH, "GET", "/identity/conditionalAccess/policies", [F.SETUP], "Policy.Read.All",
                  "conditionalaccessroot-list-policies"),),
    ),
    Grant(
        id="setup-admin-application-readwrite-all",
        identity=Identity.SETUP_ADMIN, kind=Kind.DELEGATED, permission="Application.ReadWrite.All",
        resource="Microsoft Graph", scope=SCOPE_TENANT,
        why="setup registers the drill and observer apps, their service principals, the observer's "
        "certificate or federated credential",
        source=DOCS + "application-post-applications",
        calls=(
            _c(GRAPH, "POST", "/applications", [F.SETUP], "Application.ReadWrite.All",
               "application-post-applications"),
            _c(GRAPH, "PATCH", "/applications/{id}", [F.SETUP], "Application.ReadWrite.All",
               "application-update"),
            _c(GRAPH, "POST", "/applications/{id}/federatedIdentityCredentials", [F.SETUP],
               "Application.ReadWrite.All", "application-post-federatedidentitycredentials"),
            _c(GRAPH, "POST", "/servicePrincipals", [F.SETUP], "Application.ReadWrite.All",
               "serviceprincipal-post-serviceprincipals"),
        ),
        satisfied_by=("Directory.ReadWrite.All",),
        notes=("Roles: Cloud Application Administrator or Application Administrator (or higher)",),
    ),
    Grant(
        id="setup-admin-delegatedpermissiongrant-readwrite-all",
        identity=Identity.SETUP_ADMIN, kind=Kind.DELEGATED,
        permission="DelegatedPermissionGrant.ReadWrite.All",
        resource="Microsoft Graph", scope=SCOPE_TENANT,
        why="setup consents the drill app's delegated scopes for the break-glass accounts only "
        "(consentType Principal)",
        source=DOCS + "oauth2permissiongrant-post",
        calls=(_c(GRAPH, "POST", "/oauth2PermissionGrants", [F.SETUP],
                  "DelegatedPermissionGrant.ReadWrite.All", "oauth2permissiongrant-post"),),
        satisfied_by=("Directory.ReadWrite.All",),
    ),
    Grant(
        id="setup-admin-approleassignment-readwrite-all",
        identity=Identity.SETUP_ADMIN, kind=Kind.DELEGATED, permission="AppRoleAssignment.ReadWrite.All",
        resource="Microsoft Graph", scope=SCOPE_TENANT,
        why="setup grants the observer its Microsoft Graph application permissions",
        source=DOCS + "serviceprincipal-post-approleassignments",
        calls=(_c(GRAPH, "POST", "/servicePrincipals/{id}/appRoleAssignments", [F.SETUP],
                  "AppRoleAssignment.ReadWrite.All", "serviceprincipal-post-approleassignments"),),
        notes=("Role: Privileged Role Administrator for Microsoft Graph's app roles (BELIEF, "
               "drill/sim/DIFFERENCES.md)",),
    ),
    Grant(
        id="setup-admin-sites-fullcontrol-all",
        identity=Identity.SETUP_ADMIN, kind=Kind.DELEGATED, permission="Sites.FullControl.All",
        resource="Microsoft Graph", scope=SCOPE_SITE,
        why="setup finds the filing site's id and grants the observer Sites.Selected on that one site",
        source=DOCS + "site-post-permissions",
        calls=(
            _c(GRAPH, "GET", "/sites/{host}:/{path}", [F.SETUP], "Sites.Read.All", "site-getbypath"),
            _c(GRAPH, "GET", "/sites/{id}/permissions", [F.SETUP], "Sites.FullControl.All",
               "site-list-permissions"),
            _c(GRAPH, "POST", "/sites/{id}/permissions", [F.SETUP], "Sites.FullControl.All",
               "site-post-permissions"),
        ),
        notes=("Role: SharePoint Administrator or higher (site-post-permissions)",),
    ),
    Grant(
        id="setup-admin-user-access-administrator",
        identity=Identity.SETUP_ADMIN, kind=Kind.AZURE_ROLE, permission="User Access Administrator",
        resource="Azure Resource Manager", scope=SCOPE_RESOURCE_GROUP,
        why="setup assigns the observer its Azure roles on the monitoring resource group and workspace, and "
        "reads the deployed rules and action groups",
        source=_AUTH,
        calls=(
            _c(ARM, "PUT", "{scope}/providers/Microsoft.Authorization/roleAssignments/{id}", [F.SETUP],
               "User Access Administrator", _AUTH),
            _c(ARM, "GET", "{scope}/providers/Microsoft.Authorization/roleAssignments", [F.SETUP], "Reader",
               "https://learn.microsoft.com/rest/api/authorization/role-assignments/list-for-scope"),
            _c(ARM, "GET", _RG + "microsoft.insights/scheduledQueryRules", [F.SETUP], "Monitoring Reader",
               "https://learn.microsoft.com/rest/api/monitor/scheduled-query-rules/list-by-resource-group"),
            _c(ARM, "GET", _RG + "microsoft.insights/actionGroups/{name}", [F.SETUP], "Monitoring Reader",
               "https://learn.microsoft.com/rest/api/monitor/action-groups/get"),
            _c(ARM, "GET", _WS, [F.SETUP], "Reader",
               "https://learn.microsoft.com/rest/api/loganalytics/workspaces/get"),
        ),
        satisfied_by=("Owner",),
    ),
    Grant(
        id="setup-admin-monitoring-contributor",
        identity=Identity.SETUP_ADMIN, kind=Kind.AZURE_ROLE, permission="Monitoring Contributor",
        resource="Azure Resource Manager", scope=SCOPE_RESOURCE_GROUP,
        why="with --monitoring, setup deploys the alert rules and the action group",
        source=_SQR,
        calls=(
            _c(ARM, "PUT", _RG + "microsoft.insights/scheduledQueryRules/{name}", [F.MONITORING],
               "Monitoring Contributor", _SQR),
            _c(ARM, "GET", _RG + "microsoft.insights/scheduledQueryRules/{name}", [F.MONITORING],
               "Monitoring Reader", "https://learn.microsoft.com/rest/api/monitor/scheduled-query-rules/get"),
            _c(ARM, "PUT", _RG + "microsoft.insights/actionGroups/{name}", [F.MONITORING],
               "Monitoring Contributor", _AG),
        ),
        satisfied_by=("Contributor", "Owner"),
    ),
    Grant(
        id="setup-admin-security-administrator",
        identity=Identity.SETUP_ADMIN, kind=Kind.AZURE_ROLE, permission="Security Administrator",
        resource="Azure Resource Manager", scope=SCOPE_AADIAM,
        why="setup finds the workspace Entra's diagnostic setting sends to; with --monitoring it deploys "
        "that setting",
        source=_AADIAM,
        calls=(
            _c(ARM, "GET", "/providers/microsoft.aadiam/diagnosticSettings", [F.SETUP], "Security Reader",
               _AADIAM),
            _c(ARM, "PUT", "/providers/microsoft.aadiam/diagnosticSettings/{name}", [F.MONITORING],
               "Security Administrator", _AADIAM),
        ),
        satisfied_by=("Global Administrator",),
        notes=("An Entra role, not an Azure one (BELIEF, drill/sim/DIFFERENCES.md)",),
    ),
)  # fmt: skip

REGISTRY: tuple[Grant, ...] = (*_DRILL_APP, *_OBSERVER_GRAPH, *_OBSERVER_AZURE, *_SETUP_ADMIN)
