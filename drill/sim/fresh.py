"""A "fresh tenant": the break-glass accounts, their keys, group, unit and policies, and nothing of the drill.

What `drill setup` starts from (issue 27): no drill app, no observer app, no grants to either, no site grant;
with `monitoring=False` no alerting at all either (no Entra diagnostic setting, no rules, no action groups).
Two administrators run the setup: `setup-admin` holds what every step needs (Cloud Application
Administrator, Privileged Role Administrator, SharePoint Administrator, Security Administrator; Owner on the
monitoring resource group), `app-admin` only Cloud Application Administrator (its plan marks the steps it
cannot make). They sign in through Microsoft Graph Command Line Tools, the first-party public client Maester's
`Connect-MgGraph` uses, whose delegated scopes the admin consents to for themself.
"""

from __future__ import annotations

from typing import Any

from drill.sim.tenant import Tenant

GRAPH_CLI_APP_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
SETUP_SCOPES = [
    "User.Read",
    "Directory.Read.All",
    "Policy.Read.All",
    "UserAuthenticationMethod.Read.All",
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "DelegatedPermissionGrant.ReadWrite.All",
    "Sites.FullControl.All",
    "https://management.azure.com/user_impersonation",
]
SETUP_ADMIN = "3f1e2d3c-4b5a-4968-8776-1a2b3c4d5f01"
APP_ADMIN = "3f1e2d3c-4b5a-4968-8776-1a2b3c4d5f02"
CLOUD_APP_ADMIN = "158c047a-c907-4556-b7ef-446551a6b5f7"
PRIVILEGED_ROLE_ADMIN = "e8611ab8-c189-46e8-94e1-60213ab1f814"
SHAREPOINT_ADMIN = "f28a1f50-f6e7-4571-818b-6a12f2af6b6c"
SECURITY_ADMIN = "194ae4cb-b126-40b2-bd5b-6091b380977d"


def _user(oid: str, name: str, domain: str) -> dict[str, Any]:
    upn = f"{name}@{domain}"
    return {
        "id": oid,
        "userPrincipalName": upn,
        "displayName": name,
        "accountEnabled": True,
        "userType": "Member",
        "mail": upn,
        "onPremisesSyncEnabled": None,
        "createdDateTime": "2025-01-01T00:00:00Z",
        "passwordPolicies": None,
        "assignedLicenses": [],
        "authenticationMethods": [],
    }


def _role(oid: str, role: str, n: int) -> dict[str, Any]:
    rid = f"setup-{oid[-2:]}-{n}"
    return {
        "id": rid + "-e",
        "principalId": oid,
        "roleDefinitionId": role,
        "directoryScopeId": "/",
        "appScopeId": None,
        "startDateTime": "2025-01-01T00:00:00Z",
        "endDateTime": None,
        "assignmentType": "Assigned",
        "memberType": "Direct",
        "roleAssignmentOriginId": rid,
        "roleAssignmentScheduleId": rid,
    }


def fresh_tenant(source: Tenant, *, monitoring: bool = True) -> Tenant:
    """`source` (the demo tenant) without the drill's apps and grants; `monitoring=False`: no alerting."""
    t = source.copy()
    domain = "contoso.test"
    t.applications = [
        {
            "appId": GRAPH_CLI_APP_ID,
            "displayName": "Microsoft Graph Command Line Tools",
            "kind": "public",
            "redirectUris": ["http://localhost"],
            "delegatedScopes": list(SETUP_SCOPES),
        }
    ]
    t.users += [_user(SETUP_ADMIN, "setup-admin", domain), _user(APP_ADMIN, "app-admin", domain)]
    roles = (CLOUD_APP_ADMIN, PRIVILEGED_ROLE_ADMIN, SHAREPOINT_ADMIN, SECURITY_ADMIN)
    t.roleAssignments += [_role(SETUP_ADMIN, r, i) for i, r in enumerate(roles)]
    t.roleAssignments.append(_role(APP_ADMIN, CLOUD_APP_ADMIN, 0))
    azure = dict(t.azure)
    rg = f"/subscriptions/{azure.get('subscriptionId')}/resourceGroups/{azure.get('resourceGroup')}"
    kept = list(azure.get("roleAssignments") or []) if monitoring else []
    azure["roleAssignments"] = [
        *kept,
        {"principalId": SETUP_ADMIN, "role": "Owner", "scope": rg, "principalType": "User"},
    ]
    t.azure = azure
    if not monitoring:
        t.diagnosticSettings, t.alertRules, t.actionGroups = [], [], []
    return t
