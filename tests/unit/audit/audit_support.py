"""A complete, healthy `Facts` for the demo tenant, and small mutators, for the audit's unit tests.

The objects are what the readers would return for playbooks/sim/demo-tenant.yaml (plus the recommended
design: the group in the restricted unit, the custom role eligible there with its PIM rules, auth context
c1 and its CA policy, every other method excluding the group), in Microsoft's own JSON shapes (Graph v1.0
and ARM REST), so a check that passes here passes on the simulator's answers, and the integrator can
assert that the demo facts audit clean. The playbook is the real playbooks/demo.yaml through the real
loader.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from drill.assets import DEMO_PLAYBOOK, DEMO_QUERIES
from drill.audit.facts import AccountFacts, Facts
from drill.playbook import Playbook, load_playbook

ROOT = Path(__file__).resolve().parents[3]
Obj = dict[str, Any]

TENANT = "6f1c1a3e-0b1e-4a3c-9a5e-3d2b7c9e1f00"
GA = "62e90394-69f5-4237-9190-012177145e10"
EA01 = "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a01"
EA02 = "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a02"
ALICE = "7d3e9c1a-2b4f-4c6d-8e0f-1a2b3c4d5e01"
GROUP = "3c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e01"
AU = "9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c01"
ROLE = "5e1f0a2b-3c4d-4e5f-8a9b-0c1d2e3f4a01"
STRENGTH = "4d1f2e3a-5b6c-4d7e-8f90-a1b2c3d4e501"
AAGUID_A = "d8a1c3e2-0001-4b1d-a5e1-5a1d0000a001"
AAGUID_B = "d8a1c3e2-0002-4b1d-a5e1-5a1d0000b002"
CA1 = "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c01"
CA2 = "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c02"
CA001 = "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c03"
CA002 = "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c04"
CA010 = "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c05"
SUB = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c01"
RG_ID = f"/subscriptions/{SUB}/resourceGroups/rg-breakglass-monitoring"
WORKSPACE = f"{RG_ID}/providers/Microsoft.OperationalInsights/workspaces/law-security-contoso"
ACTION_GROUP = f"{RG_ID}/providers/microsoft.insights/actionGroups/ag-soc-breakglass"
RULES = ("Break-glass account sign-in", "Break-glass account activity")
# What drill/audit/synthetic.py proves per account: the sign-in rule reads SigninLogs only.
COVERAGE_KINDS = ("signin", "signin_failed", "noninteractive", "audit")
SIGNIN_RULE_COVERAGE = {"signin": True, "signin_failed": True, "noninteractive": False, "audit": False}
RULE_PRINCIPALS = ("9b1c2d3e-4f5a-4b6c-8d7e-0f1a2b3c4d01", "9b1c2d3e-4f5a-4b6c-8d7e-0f1a2b3c4d02")


@cache
def _demo_playbook() -> Playbook:
    return load_playbook(DEMO_PLAYBOOK, env={"DRILL_SIM_PORT": "1"})


def demo_playbook() -> Playbook:
    """playbooks/demo.yaml through the real loader (a fresh copy each call: tests may change it)."""
    return _demo_playbook().model_copy(deep=True)


def rule_id(name: str) -> str:
    rg = f"/subscriptions/{SUB}/resourcegroups/rg-breakglass-monitoring"
    return f"{rg}/providers/microsoft.insights/scheduledqueryrules/{name}"


def _user(oid: str, n: str) -> Obj:
    # user (v1.0): the properties the reader selects.
    return {
        "id": oid,
        "userPrincipalName": f"ea{n}@contoso.onmicrosoft.com",
        "displayName": f"Emergency Access {n}",
        "accountEnabled": True,
        "onPremisesSyncEnabled": None,
        "passwordPolicies": "DisablePasswordExpiration",
        "userType": "Member",
        "createdDateTime": "2025-01-01T00:00:00Z",
        "assignedLicenses": [],
    }


def _key(n: str, aaguid: str, model: str) -> Obj:
    # fido2AuthenticationMethod (v1.0).
    return {
        "@odata.type": "#microsoft.graph.fido2AuthenticationMethod",
        "id": f"key-ea{n}",
        "displayName": f"EA{n} primary",
        "aaGuid": aaguid,
        "model": model,
        "createdDateTime": "2025-01-02T00:00:00Z",
    }


def _member_of() -> list[Obj]:
    # transitiveMemberOf: the group, the unit and the directory role (directoryRole.roleTemplateId).
    return [
        {"@odata.type": "#microsoft.graph.group", "id": GROUP, "displayName": "Emergency Access Accounts"},
        {
            "@odata.type": "#microsoft.graph.administrativeUnit",
            "id": AU,
            "displayName": "Emergency Access (restricted)",
        },
        {
            "@odata.type": "#microsoft.graph.directoryRole",
            "id": "1f0e2d3c-0000-4000-8000-00000000ga01",
            "displayName": "Global Administrator",
            "roleTemplateId": GA,
        },
    ]


def _users_condition(**kw: Any) -> Obj:
    # conditionalAccessUsers.
    base: Obj = {
        "includeUsers": [],
        "excludeUsers": [],
        "includeGroups": [],
        "excludeGroups": [],
        "includeRoles": [],
        "excludeRoles": [],
    }
    base.update(kw)
    return base


def _policy(pid: str, name: str, users: Obj, grant: Obj | None, session: Obj | None, **apps: Any) -> Obj:
    # conditionalAccessPolicy (v1.0).
    return {
        "id": pid,
        "displayName": name,
        "state": "enabled",
        "createdDateTime": "2025-01-01T00:00:00Z",
        "modifiedDateTime": None,
        "conditions": {
            "clientAppTypes": apps.pop("clientAppTypes", ["all"]),
            "applications": {"includeApplications": ["All"], "excludeApplications": [], **apps},
            "users": users,
        },
        "grantControls": grant,
        "sessionControls": session,
    }


def _ca_policies() -> list[Obj]:
    exclude_group = _users_condition(includeUsers=["All"], excludeGroups=[GROUP])
    return [
        _policy(
            CA1,
            "EA01 - Emergency access - require approved passkey",
            _users_condition(includeGroups=[GROUP]),
            {
                "operator": "OR",
                "builtInControls": [],
                "customAuthenticationFactors": [],
                "termsOfUse": [],
                "authenticationStrength": {"id": STRENGTH, "displayName": "Emergency access passkeys"},
            },
            None,
        ),
        _policy(
            CA2,
            "EA02 - Emergency access - 4 hour sign-in frequency, no persistent browser",
            _users_condition(includeGroups=[GROUP]),
            None,
            {
                "signInFrequency": {
                    "isEnabled": True,
                    "value": 4,
                    "type": "hours",
                    "frequencyInterval": "timeBased",
                    "authenticationType": "primaryAndSecondaryAuthentication",
                },
                "persistentBrowser": {"isEnabled": True, "mode": "never"},
            },
        ),
        _policy(
            CA001,
            "CA001 - Require MFA for all users",
            copy.deepcopy(exclude_group),
            {
                "operator": "OR",
                "builtInControls": ["mfa"],
                "customAuthenticationFactors": [],
                "termsOfUse": [],
            },
            None,
        ),
        _policy(
            CA002,
            "CA002 - Block legacy authentication",
            copy.deepcopy(exclude_group),
            {
                "operator": "OR",
                "builtInControls": ["block"],
                "customAuthenticationFactors": [],
                "termsOfUse": [],
            },
            None,
            clientAppTypes=["exchangeActiveSync", "other"],
        ),
        _policy(
            CA010,
            "CA010 - Break-glass management (auth context c1)",
            copy.deepcopy(exclude_group),
            {
                "operator": "AND",
                "builtInControls": ["compliantDevice"],
                "customAuthenticationFactors": [],
                "termsOfUse": [],
                "authenticationStrength": {
                    "id": "00000000-0000-0000-0000-000000000004",
                    "displayName": "Phishing-resistant MFA",
                },
            },
            {
                "signInFrequency": {
                    "isEnabled": True,
                    "value": None,
                    "type": None,
                    "frequencyInterval": "everyTime",
                    "authenticationType": "primaryAndSecondaryAuthentication",
                }
            },
            includeApplications=[],
            includeAuthenticationContextClassReferences=["c1"],
        ),
    ]


def _what_if(policies: list[Obj]) -> list[Obj]:
    # whatIfAnalysisResult: the conditionalAccessPolicy's properties plus policyApplies and analysisReasons.
    out = []
    for p in policies:
        applies = p["id"] in (CA1, CA2)
        out.append(
            {
                **{
                    k: p[k]
                    for k in ("id", "displayName", "state", "conditions", "grantControls", "sessionControls")
                },
                "policyApplies": applies,
                "analysisReasons": "notSet" if applies else "users",
            }
        )
    return out


def _instance(iid: str, principal: str, role: str, scope: str, **kw: Any) -> Obj:
    # unifiedRoleAssignmentScheduleInstance / unifiedRoleEligibilityScheduleInstance.
    out = {
        "id": iid,
        "principalId": principal,
        "roleDefinitionId": role,
        "directoryScopeId": scope,
        "appScopeId": None,
        "startDateTime": "2025-01-01T00:00:00Z",
        "endDateTime": None,
        "memberType": "Direct",
    }
    out.update(kw)
    return out


def _target() -> Obj:
    return {
        "caller": "EndUser",
        "operations": ["All"],
        "level": "Assignment",
        "inheritableSettings": [],
        "enforcedSettings": [],
    }


def _role_policy() -> Obj:
    # unifiedRoleManagementPolicy with its rules (PIM rules overview names).
    return {
        "id": f"DirectoryRole_{TENANT}_ea-manager",
        "displayName": "DirectoryRole",
        "scopeId": "/",
        "scopeType": "DirectoryRole",
        "rules": [
            {
                "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
                "id": "Expiration_EndUser_Assignment",
                "isExpirationRequired": True,
                "maximumDuration": "PT1H",
                "target": _target(),
            },
            {
                "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule",
                "id": "Approval_EndUser_Assignment",
                "setting": {
                    "isApprovalRequired": True,
                    "isApprovalRequiredForExtension": False,
                    "isRequestorJustificationRequired": True,
                    "approvalMode": "SingleStage",
                    "approvalStages": [
                        {
                            "approvalStageTimeOutInDays": 1,
                            "isApproverJustificationRequired": True,
                            "escalationTimeInMinutes": 0,
                            "isEscalationEnabled": False,
                            "primaryApprovers": [
                                {
                                    "@odata.type": "#microsoft.graph.singleUser",
                                    "userId": ALICE,
                                    "description": "Alice",
                                }
                            ],
                            "escalationApprovers": [],
                        }
                    ],
                },
                "target": _target(),
            },
            {
                "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule",
                "id": "Enablement_EndUser_Assignment",
                "enabledRules": ["Justification", "Ticketing"],
                "target": _target(),
            },
            {
                "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyAuthenticationContextRule",
                "id": "AuthenticationContext_EndUser_Assignment",
                "isEnabled": True,
                "claimValue": "c1",
                "target": _target(),
            },
        ],
    }


def _other_method(kind: str, mid: str, state: str = "enabled") -> Obj:
    return {
        "@odata.type": f"#microsoft.graph.{kind}AuthenticationMethodConfiguration",
        "id": mid,
        "state": state,
        "excludeTargets": [{"id": GROUP, "targetType": "group"}],
    }


def _methods_policy() -> Obj:
    # authenticationMethodsPolicy with authenticationMethodConfigurations.
    return {
        "id": "authenticationMethodsPolicy",
        "displayName": "Authentication Methods Policy",
        "authenticationMethodConfigurations": [
            {
                "@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration",
                "id": "Fido2",
                "state": "enabled",
                "isSelfServiceRegistrationAllowed": False,
                "isAttestationEnforced": False,
                "keyRestrictions": {
                    "isEnforced": True,
                    "enforcementType": "allow",
                    "aaGuids": [AAGUID_A, AAGUID_B],
                },
                "includeTargets": [{"targetType": "group", "id": GROUP, "isRegistrationRequired": False}],
                "excludeTargets": [],
            },
            _other_method("microsoftAuthenticator", "MicrosoftAuthenticator"),
            _other_method("sms", "Sms"),
            _other_method("voice", "Voice", "disabled"),
            _other_method("email", "Email"),
            _other_method("softwareOath", "SoftwareOath"),
            _other_method("temporaryAccessPass", "TemporaryAccessPass"),
            _other_method("x509Certificate", "X509Certificate", "disabled"),
        ],
    }


def _strengths() -> list[Obj]:
    # authenticationStrengthPolicy (v1.0): the custom one and a built-in.
    return [
        {
            "id": STRENGTH,
            "displayName": "Emergency access passkeys",
            "policyType": "custom",
            "requirementsSatisfied": "mfa",
            "allowedCombinations": ["fido2"],
            "combinationConfigurations": [
                {
                    "@odata.type": "#microsoft.graph.fido2CombinationConfiguration",
                    "id": "2f6a4b5c-8d7e-4f9a-b0c1-d2e3f4a5b601",
                    "appliesToCombinations": ["fido2"],
                    "allowedAAGUIDs": [AAGUID_A, AAGUID_B],
                }
            ],
        },
        {
            "id": "00000000-0000-0000-0000-000000000004",
            "displayName": "Phishing-resistant MFA",
            "policyType": "builtIn",
            "requirementsSatisfied": "mfa",
            "allowedCombinations": ["windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor"],
            "combinationConfigurations": [],
        },
    ]


def _query(file: str) -> str:
    return (DEMO_QUERIES / file).read_text(encoding="utf-8")


def _alert_rule(
    name: str, principal: str, frequency: str, window: str, query: str, subject: str | None
) -> Obj:
    # scheduledQueryRules (ARM, kind LogAlert) with a system-assigned identity.
    actions: Obj = {"actionGroups": [ACTION_GROUP], "customProperties": {}}
    if subject:
        actions["actionProperties"] = {"Email.Subject": subject}
    return {
        "id": rule_id(name),
        "name": name,
        "type": "microsoft.insights/scheduledqueryrules",
        "location": "westeurope",
        "kind": "LogAlert",
        "identity": {"type": "SystemAssigned", "principalId": principal, "tenantId": TENANT},
        "properties": {
            "displayName": name,
            "severity": 0,
            "enabled": True,
            "evaluationFrequency": frequency,
            "windowSize": window,
            "scopes": [WORKSPACE],
            "autoMitigate": False,
            "actions": actions,
            "criteria": {
                "allOf": [
                    {
                        "query": query,
                        "timeAggregation": "Count",
                        "dimensions": [],
                        "operator": "GreaterThan",
                        "threshold": 0.0,
                        "failingPeriods": {"numberOfEvaluationPeriods": 1, "minFailingPeriodsToAlert": 1},
                    }
                ]
            },
        },
    }


def _role_assignment(principal: str, role: str, n: int) -> Obj:
    # Microsoft.Authorization/roleAssignments with the role definition's roleName resolved.
    return {
        "id": f"{WORKSPACE}/providers/Microsoft.Authorization/roleAssignments/"
        f"00000000-0000-4000-8000-{n:012d}",
        "properties": {
            "principalId": principal,
            "principalType": "ServicePrincipal",
            "scope": WORKSPACE,
            "roleDefinitionId": f"/providers/Microsoft.Authorization/roleDefinitions/{role}",
        },
        "roleName": "Log Analytics Reader" if role.startswith("73c42c96") else "Reader",
    }


def healthy_facts() -> Facts:
    """The demo tenant as the readers would read it, every control in place (a fresh copy each call)."""
    policies = _ca_policies()
    accounts = [
        AccountFacts(
            name=f"ea{n}",
            object_id=oid,
            user=_user(oid, n),
            methods=[
                {
                    "@odata.type": "#microsoft.graph.passwordAuthenticationMethod",
                    "id": "28c10230-6103-485e-b985-444c60001490",
                },
                _key(n, aaguid, model),
            ],
            fido2=[_key(n, aaguid, model)],
            member_of=_member_of(),
            licenses=[],
            what_if=_what_if(policies),
        )
        for n, oid, aaguid, model in (
            ("01", EA01, AAGUID_A, "Vendor A KeyGuard 2"),
            ("02", EA02, AAGUID_B, "Vendor B SecureTouch N"),
        )
    ]
    ga = [
        _instance(
            "lAPpYvVpN0KRkAEhdxReEJNPhCcVo0hBhz5xDzo7LoI-1-e", EA01, GA, "/", assignmentType="Assigned"
        ),
        _instance(
            "lAPpYvVpN0KRkAEhdxReEJNPhCcVo0hBhz5xDzo7LoI-2-e", EA02, GA, "/", assignmentType="Assigned"
        ),
    ]
    reader_roles = ("73c42c96-874c-492b-b04d-ab87d138a893", "acdd72a7-3385-48ef-bd42-f606fba81ae7")
    return Facts(
        tenant_id=TENANT,
        read_at=datetime(2026, 1, 15, 9, 0, tzinfo=UTC),
        accounts=accounts,
        domains=[
            {
                "id": "contoso.test",
                "isDefault": True,
                "isInitial": False,
                "isVerified": True,
                "passwordValidityPeriodInDays": 2147483647,
            },
            {
                "id": "contoso.onmicrosoft.com",
                "isDefault": False,
                "isInitial": True,
                "isVerified": True,
                "passwordValidityPeriodInDays": 2147483647,
            },
        ],
        ga_assignments=ga,
        ga_eligibilities=[_instance("kl8Ah8Jp2kC3XVcU1r0bpJNPhCcVo0hBhz5xDzo7LoI-1-e", ALICE, GA, "/")],
        group={
            "id": GROUP,
            "displayName": "Emergency Access Accounts",
            "isAssignableToRole": True,
            "securityEnabled": True,
            "mailEnabled": False,
            "groupTypes": [],
            "membershipRule": None,
        },
        group_members=[
            {
                "@odata.type": "#microsoft.graph.user",
                "id": EA01,
                "displayName": "Emergency Access 01",
                "userPrincipalName": "ea01@contoso.onmicrosoft.com",
            },
            {
                "@odata.type": "#microsoft.graph.user",
                "id": EA02,
                "displayName": "Emergency Access 02",
                "userPrincipalName": "ea02@contoso.onmicrosoft.com",
            },
        ],
        admin_units=[
            {
                "id": AU,
                "displayName": "Emergency Access (restricted)",
                "isMemberManagementRestricted": True,
                "visibility": None,
                "members": [{"id": EA01}, {"id": EA02}, {"id": GROUP}],
            }
        ],
        unit_assignments=[],
        unit_eligibilities=[
            _instance(
                "kl8Ah8Jp2kC3XVcU1r0bpJNPhCcVo0hBhz5xDzo7LoI-2-e", ALICE, ROLE, f"/administrativeUnits/{AU}"
            )
        ],
        unit_roles=[
            {
                "id": ROLE,
                "templateId": ROLE,
                "displayName": "Emergency access account manager",
                "isBuiltIn": False,
                "isEnabled": True,
                "resourceScopes": ["/"],
                "rolePermissions": [
                    {"allowedResourceActions": ["microsoft.directory/users/basic/update"], "condition": None}
                ],
            }
        ],
        role_policies={ROLE: _role_policy()},
        auth_contexts=[
            {
                "id": "c1",
                "displayName": "Break-glass account management",
                "description": "Activating the role that manages the emergency access accounts.",
                "isAvailable": True,
            }
        ],
        methods_policy=_methods_policy(),
        auth_strengths=_strengths(),
        ca_policies=policies,
        diagnostic_settings=[
            {
                "id": "providers/Microsoft.Aadiam/diagnosticSettings/entra-to-law",
                "name": "entra-to-law",
                "properties": {
                    "workspaceId": WORKSPACE,
                    "logs": [
                        {"category": c, "enabled": True, "retentionPolicy": {"enabled": False, "days": 0}}
                        for c in ("SignInLogs", "NonInteractiveUserSignInLogs", "AuditLogs")
                    ],
                },
            }
        ],
        alert_rules=[
            _alert_rule(
                RULES[0],
                RULE_PRINCIPALS[0],
                "PT1M",
                "PT5M",
                _query("demo-breakglass-signin.kql"),
                "[CRITICAL] Emergency Access Activity",
            ),
            _alert_rule(
                RULES[1],
                RULE_PRINCIPALS[1],
                "PT5M",
                "PT10M",
                _query("demo-breakglass-alert.kql"),
                "[HIGH] Emergency Access directory activity",
            ),
        ],
        identity_roles={
            p: [_role_assignment(p, r, i * 2 + j) for j, r in enumerate(reader_roles)]
            for i, p in enumerate(RULE_PRINCIPALS)
        },
        action_groups={
            ACTION_GROUP.lower(): {
                "id": ACTION_GROUP,
                "name": "ag-soc-breakglass",
                "type": "Microsoft.Insights/ActionGroups",
                "location": "Global",
                "properties": {
                    "groupShortName": "soc-bg",
                    "enabled": True,
                    "emailReceivers": [
                        {
                            "name": "SOC shared mailbox",
                            "emailAddress": "soc-alerts@contoso.test",
                            "status": "Enabled",
                            "useCommonAlertSchema": True,
                        }
                    ],
                },
            }
        },
        sentinel_rules=None,
        coverage={
            rule_id(RULES[0]): {a: dict(SIGNIN_RULE_COVERAGE) for a in ("ea01", "ea02")},
            rule_id(RULES[1]): {a: dict.fromkeys(COVERAGE_KINDS, True) for a in ("ea01", "ea02")},
        },
        last_pass={"ea01": "2026-01-10T10:00:00Z", "ea02": "2026-01-11T10:00:00Z"},
        passed_drills=[
            {
                "drill_id": f"drill-{a}",
                "account": a,
                "ended_at": at,
                "operator": "Demo Operator",
                "witness": "Demo Witness",
            }
            for a, at in (("ea01", "2026-01-10T10:00:00Z"), ("ea02", "2026-01-11T10:00:00Z"))
        ],
        requests={"graph": 40, "arm": 8},
    )


# -- mutators: small, named changes to a healthy copy -------------------------------------------------------
def account(facts: Facts, name: str) -> AccountFacts:
    acc = facts.account(name)
    assert acc is not None, name
    return acc


def policy(facts: Facts, pid: str) -> Obj:
    return next(p for p in facts.ca_policies if p["id"] == pid)


def method_config(facts: Facts, mid: str) -> Obj:
    return next(c for c in facts.methods_policy["authenticationMethodConfigurations"] if c["id"] == mid)


def fido2_config(facts: Facts) -> Obj:
    return method_config(facts, "Fido2")


def pim_rule(facts: Facts, rule: str) -> Obj:
    return next(r for r in facts.role_policies[ROLE]["rules"] if r["id"] == rule)


def add_policy(
    facts: Facts, pid: str, name: str, users: Obj, *, state: str = "enabled", block: bool = False
) -> Obj:
    """A further CA policy (e.g. one that forgets to exclude the group)."""
    controls = ["block"] if block else ["mfa"]
    new = _policy(
        pid,
        name,
        _users_condition(**users),
        {"operator": "OR", "builtInControls": controls, "customAuthenticationFactors": [], "termsOfUse": []},
        None,
    )
    new["state"] = state
    facts.ca_policies.append(new)
    return new


def unread(facts: Facts, name: str, reason: str = "Graph answered 403 Forbidden") -> Facts:
    facts.unread[name] = reason
    return facts


# --- judging one check the way every area's tests do -------------------------------------------------------
def judged_healthy(check: Any) -> Any:
    """The check's outcome on the healthy demo facts."""
    return check(healthy_facts(), demo_playbook())


def judged_after(check: Any, mutate: Any) -> Any:
    """The check's outcome once `mutate(facts, playbook)` has broken one thing in the healthy demo."""
    facts, pb = healthy_facts(), demo_playbook()
    mutate(facts, pb)
    return check(facts, pb)


def judged_unread(check: Any, fact: str) -> Any:
    """The check's outcome when `fact` could not be read."""
    return check(unread(healthy_facts(), fact), demo_playbook())
