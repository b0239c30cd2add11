"""Which value of each judged fact field is unsafe, by the rationale of the check that judges it.

The generator (mutation.py) finds the fields each check judges; this table says what is unsafe for them,
and what is a safe variation that must keep every check passing. Each rule cites the rationale it rests on
in a few words (`why`). A rule is applied at every path its pattern matches (each policy, each account),
so `where` narrows it to the objects the rationale is about (the break-glass policies, an enabled method).

Bases: "demo" is the healthy demo tenant (audit_support.healthy_facts); the others add a healthy optional
control the demo tenant does not use (a Sentinel rule, passkey profiles, a report-only policy), so that
the checks that are otherwise not applicable, or have nothing to judge, are mutated too.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from drill.audit.facts import Facts
from drill.playbook import Playbook
from tests.unit.audit import audit_support as s
from tests.unit.audit.mutation import Path, Rule, Where, safe, unsafe, value_at

OTHER_ID = "00000000-0000-4000-8000-00000000beef"
SENTINEL_RULE = "Break-glass sign-in (Sentinel)"
PROFILE = "0b1a0000-0000-4000-8000-0000000000p1"
REPORT_ONLY = "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c99"


# -- bases ---------------------------------------------------------------------------------------------------


def _sentinel(f: Facts, pb: Playbook) -> Playbook:
    f.sentinel_rules = [
        {
            "id": f"{s.WORKSPACE}/providers/Microsoft.SecurityInsights/alertRules/r1",
            "kind": "Scheduled",
            "properties": {
                "displayName": SENTINEL_RULE,
                "enabled": True,
                "queryFrequency": "PT5M",
                "queryPeriod": "PT5M",
                "triggerOperator": "GreaterThan",
                "triggerThreshold": 0,
                "suppressionEnabled": False,
                "suppressionDuration": "PT5H",
                "eventGroupingSettings": {"aggregationKind": "AlertPerResult"},
                "incidentConfiguration": {"createIncident": True},
            },
        }
    ]
    return pb.model_copy(update={"audit": pb.audit.model_copy(update={"sentinel_rules": [SENTINEL_RULE]})})


def _profiles(f: Facts, pb: Playbook) -> Playbook:
    config = s.fido2_config(f)
    config["passkeyProfiles"] = [{"id": PROFILE, "name": "Emergency keys", "passkeyTypes": "deviceBound"}]
    config["defaultPasskeyProfile"] = PROFILE
    config["includeTargets"][0]["allowedPasskeyProfiles"] = [PROFILE]
    return pb


def _report_only(f: Facts, pb: Playbook) -> Playbook:
    s.add_policy(
        f, REPORT_ONLY, "CA099 - Trial: block risky sign-ins",
        {"includeUsers": ["All"], "excludeGroups": [s.GROUP]},
        state="enabledForReportingButNotEnforced", block=True,
    )  # fmt: skip
    return pb


Base = Callable[[Facts, Playbook], Playbook]
BASES: dict[str, Base] = {
    "demo": lambda _f, pb: pb,
    "sentinel": _sentinel,
    "profiles": _profiles,
    "report_only": _report_only,
}


def base(name: str) -> tuple[Facts, Playbook]:
    facts, pb = s.healthy_facts(), s.demo_playbook()
    return facts, BASES[name](facts, pb)


# -- where a rule applies ------------------------------------------------------------------------------------


def within(depth: int, key: str, *values: Any) -> Where:
    """Only inside the object at path[:depth] whose `key` is one of `values` (a policy's or method's id)."""

    def where(facts: Facts, path: Path) -> bool:
        obj = value_at(facts, path[:depth])
        got = obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)
        return got in values

    return where


def account(name: str) -> Where:
    return within(2, "name", name)


def policy(*ids: str) -> Where:
    return within(2, "id", *ids)


def method(*ids: str) -> Where:
    return within(3, "id", *ids)


def rule_named(name: str) -> Where:
    return lambda _f, path: (
        path[1] == s.rule_id(name) if path[0] == "coverage" else within(2, "name", name)(_f, path)
    )


def what_if(pid: str) -> Where:
    return within(4, "id", pid)


PIM_ALL = ("BG.PIM.1", "BG.PIM.2", "BG.PIM.3", "BG.PIM.4", "BG.PIM.5")
AZURE_MANAGEMENT = "797f4846-ba00-4fd7-ba43-dac1f8f63013"
OTHER_POLICIES = policy(s.CA001, s.CA002, s.CA010)
ENABLED_OTHER_METHODS = method(
    "MicrosoftAuthenticator", "Sms", "Email", "SoftwareOath", "TemporaryAccessPass"
)


def _plus(*items: Any) -> Callable[[list[Any]], list[Any]]:
    return lambda old: [*old, *copy.deepcopy(items)]


def _no_signins(coverage: dict[str, Any]) -> dict[str, Any]:
    return {rule: {a: {**seen, "signin": False} for a, seen in by.items()} for rule, by in coverage.items()}


def _phone() -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.phoneAuthenticationMethod",
        "id": "3179e48a-750b-4051-897c-87b9720928f7",
    }


def _unit_assignment(kind: str | None, **extra: Any) -> dict[str, Any]:
    a = s._instance("unit-1", s.ALICE, s.ROLE, f"/administrativeUnits/{s.AU}", assignmentType=kind, **extra)
    return a if kind is not None else {k: v for k, v in a.items() if k != "assignmentType"}


def _only(field: str, *values: Any) -> Where:
    """Only at a list entry whose `field` is one of `values` (a log category)."""
    return lambda f, p: value_at(f, p[:-1]).get(field) in values


def _ga(principal: str, n: int) -> dict[str, Any]:
    return s._instance(f"ga-extra-{n}", principal, s.GA, "/", assignmentType="Assigned")


# -- the rules -----------------------------------------------------------------------------------------------
ACC = [
    unsafe(
        "accounts.*.user",
        None,
        "BG.ACC.1",
        why="one account not in the directory (one account is a single point of failure)",
        where=account("ea02"),
    ),
    unsafe("accounts.*.user.onPremisesSyncEnabled", True, "BG.ACC.2", why="synchronised"),
    safe("accounts.*.user.onPremisesSyncEnabled", False, why="never synchronised"),
    unsafe(
        "accounts.*.user.userPrincipalName",
        lambda upn: upn.replace("contoso.onmicrosoft.com", "contoso.test"),
        "BG.ACC.3",
        why="UPN on a custom domain",
    ),
    unsafe(
        "domains.*.isInitial",
        True,
        "BG.ACC.3",
        why="the custom domain listed as initial",
        where=within(2, "id", "contoso.test"),
    ),
    unsafe("domains.*.isInitial", False, "BG.ACC.3", why="no initial domain", error_ok=True),
    unsafe(
        "domains.*.id",
        "fabrikam.onmicrosoft.com",
        "BG.ACC.3",
        why="the initial domain is another",
        where=within(2, "isInitial", True),
    ),
    unsafe("accounts.*.user.displayName", "John Smith", "BG.ACC.4", why="a person's name"),
    unsafe(
        "accounts.*.user.userPrincipalName",
        "john.smith@contoso.onmicrosoft.com",
        "BG.ACC.4",
        why="a person's UPN",
        where=account("ea01"),
    ),
    safe("accounts.*.user.displayName", "Emergency Access 09", why="another descriptive name"),
    unsafe("accounts.*.user.accountEnabled", False, "BG.ACC.5", why="disabled"),
    unsafe("accounts.*.user.accountEnabled", None, "BG.ACC.5", why="not known to be enabled"),
    unsafe(
        "accounts.*.user.passwordPolicies",
        None,
        "BG.ACC.6",
        why="expiring: policy and domain both expire",
        also=(("domains.*.passwordValidityPeriodInDays", 90),),
    ),
    unsafe(
        "domains.*.passwordValidityPeriodInDays",
        None,
        "BG.ACC.6",
        why="expiring: unset validity is 90 days",
        where=within(2, "isInitial", True),
        also=(("accounts.*.user.passwordPolicies", "None"),),
    ),
    safe("accounts.*.user.passwordPolicies", None, why="the domain never expires passwords"),
    safe("domains.*.passwordValidityPeriodInDays", 90, why="the accounts disable expiry themselves"),
    unsafe(
        "accounts.*.methods", _plus(_phone()), "BG.ACC.7", "BG.AM.5", why="a phone method besides the keys"
    ),
    unsafe(
        "accounts.*.methods.*.@odata.type",
        "#microsoft.graph.emailAuthenticationMethod",
        "BG.ACC.7",
        "BG.AM.5",
        why="an e-mail method besides the keys",
        where=lambda f, p: "password" in str(value_at(f, p)),
    ),
    unsafe(
        "accounts.*.licenses",
        [{"skuId": OTHER_ID, "skuPartNumber": "SPE_E5"}],
        "BG.ACC.8",
        why="a Microsoft 365 E5 licence",
    ),
    unsafe(
        "accounts.*.user.assignedLicenses",
        [{"skuId": OTHER_ID, "disabledPlans": []}],
        "BG.ACC.8",
        why="a licence whose details were not listed",
    ),
    safe(
        "accounts.*.licenses",
        [{"skuId": OTHER_ID, "skuPartNumber": "AAD_PREMIUM_P2"}],
        why="Entra ID P2 only",
        also=(("accounts.*.user.assignedLicenses", [{"skuId": OTHER_ID, "disabledPlans": []}]),),
    ),
    unsafe("accounts.*.user.userType", "Guest", "BG.ACC.9", why="a guest"),
    unsafe("accounts.*.user.userType", None, "BG.ACC.9", why="userType unread: member or guest unknown"),
    unsafe(
        "accounts.*.user",
        lambda u: {**u, "creationType": "Invitation"},
        "BG.ACC.9",
        why="a B2B account invited in, userType Member",
    ),
    unsafe(
        "accounts.*.user.userPrincipalName",
        lambda upn: upn.replace("@", "_fabrikam.com#EXT#@"),
        "BG.ACC.9",
        why="an external account's #EXT# UPN",
    ),
    safe(
        "accounts.*.user", lambda u: {**u, "creationType": None}, why="created as a member (no creationType)"
    ),
    safe("accounts.*.user.userType", "member", why="Member, in another case"),
]

GA = [
    unsafe("ga_assignments.*.endDateTime", "2026-06-30T00:00:00Z", "BG.GA.1", why="time-bound"),
    unsafe("ga_assignments.*.directoryScopeId", f"/administrativeUnits/{s.AU}", "BG.GA.1", why="scoped"),
    unsafe("ga_assignments.*.memberType", "Group", "BG.GA.1", why="inherited through a group"),
    unsafe(
        "ga_assignments.*.assignmentType",
        "Activated",
        "BG.GA.1",
        why="a PIM activation, not a standing assignment",
    ),
    unsafe("ga_assignments.*.principalId", OTHER_ID, "BG.GA.1", why="the account holds no assignment"),
    unsafe(
        "ga_assignments.*.roleDefinitionId",
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
        "BG.GA.1",
        why="Security Administrator, not Global Administrator",
    ),
    unsafe(
        "ga_assignments",
        _plus(*(_ga(f"00000000-0000-4000-8000-0000000000a{n}", n) for n in range(3))),
        "BG.GA.2",
        why="six Global Administrators",
    ),
    unsafe(
        "ga_eligibilities",
        _plus(*(_ga(f"00000000-0000-4000-8000-0000000000b{n}", n) for n in range(3))),
        "BG.GA.2",
        why="six, three of them eligible",
    ),
    safe("ga_eligibilities", [], why="no eligible admin besides the accounts"),
    safe("ga_assignments", _plus(_ga(s.ALICE, 9)), why="the eligible admin also active: still three people"),
]

GROUP = [
    unsafe("group.isAssignableToRole", False, "BG.GRP.1", why="not role-assignable"),
    unsafe("group.securityEnabled", False, "BG.GRP.1", why="not a security group"),
    unsafe("group.mailEnabled", True, "BG.GRP.1", why="mail-enabled"),
    unsafe("group.membershipRule", 'user.department -eq "IT"', "BG.GRP.1", why="dynamic membership"),
    unsafe("group.groupTypes", ["DynamicMembership"], "BG.GRP.1", why="dynamic membership"),
    unsafe("group.groupTypes", ["Unified"], "BG.GRP.1", why="a Microsoft 365 group"),
    unsafe(
        "group_members",
        _plus({"@odata.type": "#microsoft.graph.user", "id": s.ALICE, "displayName": "Alice"}),
        "BG.GRP.2",
        why="an extra member inherits the exclusions",
    ),
    unsafe("group_members.*.id", OTHER_ID, "BG.GRP.2", why="a missing account"),
    unsafe(
        "admin_units.*.isMemberManagementRestricted",
        False,
        "BG.AU.1",
        *PIM_ALL,
        why="unrestricted management (and the role is scoped to an unrestricted unit)",
    ),
    unsafe("admin_units.*.members.*.id", OTHER_ID, "BG.AU.1", why="an account or the group outside the unit"),
]

PIM = [
    unsafe(
        "unit_eligibilities.*.directoryScopeId", "/", *PIM_ALL, why="eligible tenant-wide, not at the unit"
    ),
    unsafe(
        "unit_eligibilities.*.roleDefinitionId",
        s.GA,
        *PIM_ALL,
        why="Global Administrator, not a narrow custom role",
    ),
    unsafe("unit_eligibilities", [], *PIM_ALL, why="nobody eligible"),
    unsafe("unit_roles.*.isBuiltIn", True, *PIM_ALL, why="a built-in role, not a narrow custom one"),
    unsafe("role_policies.*.rules.*.maximumDuration", "PT8H", "BG.PIM.2", why="an eight-hour activation"),
    safe("role_policies.*.rules.*.maximumDuration", "PT30M", why="half an hour"),
    unsafe("role_policies.*.rules.*.setting.isApprovalRequired", False, "BG.PIM.3", why="no approval"),
    unsafe(
        "role_policies.*.rules.*.setting.approvalStages.*.primaryApprovers",
        [],
        "BG.PIM.3",
        why="approval with nobody to approve",
    ),
    unsafe("role_policies.*.rules.*.enabledRules", ["Ticketing"], "BG.PIM.4", why="no justification"),
    safe(
        "role_policies.*.rules.*.enabledRules",
        ["MultiFactorAuthentication", "Justification"],
        why="justification and MFA",
    ),
    unsafe("role_policies.*.rules.*.isEnabled", False, "BG.PIM.5", why="no authentication context"),
    unsafe("role_policies.*.rules.*.claimValue", "c2", "BG.PIM.5", why="a context no policy targets"),
    unsafe(
        "ca_policies.*.state", "disabled", "BG.PIM.5", why="the context's policy off", where=policy(s.CA010)
    ),
    unsafe(
        "ca_policies.*.conditions.applications.includeAuthenticationContextClassReferences",
        [],
        "BG.PIM.5",
        why="the policy targets no context",
        where=policy(s.CA010),
    ),
    unsafe(
        "ca_policies.*.grantControls.authenticationStrength.id",
        "00000000-0000-0000-0000-000000000002",
        "BG.PIM.5",
        why="multifactor strength, not phishing-resistant",
        where=policy(s.CA010),
    ),
    unsafe(
        "ca_policies.*.grantControls.builtInControls",
        [],
        "BG.PIM.5",
        why="no compliant device",
        where=policy(s.CA010),
    ),
    unsafe(
        "ca_policies.*.grantControls.operator",
        "OR",
        "BG.PIM.5",
        why="either control suffices",
        where=policy(s.CA010),
    ),
    unsafe(
        "ca_policies.*.sessionControls.signInFrequency.frequencyInterval",
        "timeBased",
        "BG.PIM.5",
        why="no fresh sign-in every time",
        where=policy(s.CA010),
    ),
    unsafe(
        "ca_policies.*.sessionControls.signInFrequency.isEnabled",
        False,
        "BG.PIM.5",
        why="no sign-in frequency",
        where=policy(s.CA010),
    ),
    unsafe("auth_contexts.*.id", "c9", "BG.PIM.5", why="the context does not exist"),
    unsafe(
        "unit_assignments",
        [_unit_assignment("Assigned")],
        "BG.PIM.6",
        why="standing access to the unit role",
    ),
    unsafe(
        "unit_assignments",
        [_unit_assignment("Assigned", endDateTime="2026-06-30T00:00:00Z")],
        "BG.PIM.6",
        why="a time-bound but standing assignment, not a PIM activation",
    ),
    unsafe(
        "unit_assignments",
        [_unit_assignment(None)],
        "BG.PIM.6",
        why="an assignment from the roleAssignments fallback, which lists standing ones only",
    ),
    safe("unit_assignments", [_unit_assignment("Activated")], why="a PIM activation in force"),
    safe(
        "unit_assignments",
        [
            s._instance(
                "other-scope", s.ALICE, s.ROLE, "/administrativeUnits/" + OTHER_ID, assignmentType="Assigned"
            )
        ],
        why="standing access to another unit, not the accounts'",
    ),
]

METHODS = [
    unsafe(
        "methods_policy.authenticationMethodConfigurations.*.state",
        "disabled",
        "BG.AM.1",
        why="passkeys off",
        where=method("Fido2"),
    ),
    unsafe(
        "methods_policy.authenticationMethodConfigurations.*.includeTargets.*.id",
        OTHER_ID,
        "BG.AM.1",
        why="passkeys for another group",
        where=method("Fido2"),
    ),
    unsafe(
        "methods_policy.authenticationMethodConfigurations.*.excludeTargets",
        [{"id": s.GROUP, "targetType": "group"}],
        "BG.AM.1",
        why="the group excluded from passkeys",
        where=method("Fido2"),
    ),
    safe(
        "methods_policy.authenticationMethodConfigurations.*.includeTargets",
        _plus({"targetType": "group", "id": "all_users", "isRegistrationRequired": False}),
        why="passkeys for all users too",
        where=method("Fido2"),
    ),
    unsafe(
        "methods_policy.authenticationMethodConfigurations.*.keyRestrictions.aaGuids",
        [s.AAGUID_A],
        "BG.AM.2",
        why="a registered key left out of the allow-list",
    ),
    unsafe(
        "methods_policy.authenticationMethodConfigurations.*.keyRestrictions.enforcementType",
        "block",
        "BG.AM.2",
        why="the keys blocked",
    ),
    safe(
        "methods_policy.authenticationMethodConfigurations.*.keyRestrictions.aaGuids",
        _plus(OTHER_ID),
        why="one more model allowed",
    ),
    safe(
        "methods_policy.authenticationMethodConfigurations.*.keyRestrictions.isEnforced",
        False,
        why="no restriction",
    ),
    unsafe(
        "accounts.*.fido2.*.aaGuid",
        OTHER_ID,
        "BG.AM.2",
        "BG.AM.5",
        "BG.AS.1",
        why="a registered key outside the allow-lists",
        where=account("ea01"),
    ),
    unsafe(
        "methods_policy.authenticationMethodConfigurations.*.passkeyProfiles.*.passkeyTypes",
        "synced",
        "BG.AM.3",
        why="the group's profile refuses device-bound keys",
        base="profiles",
    ),
    unsafe(
        "methods_policy.authenticationMethodConfigurations.*.includeTargets.*.allowedPasskeyProfiles",
        [OTHER_ID],
        "BG.AM.2",
        "BG.AM.3",
        why="the group's profile does not exist",
        base="profiles",
    ),
    unsafe(
        "methods_policy.authenticationMethodConfigurations.*.passkeyProfiles.*.id",
        OTHER_ID,
        "BG.AM.2",
        "BG.AM.3",
        why="the group's profile is gone",
        base="profiles",
    ),
    unsafe(
        "methods_policy.authenticationMethodConfigurations.*.includeTargets.*.id",
        OTHER_ID,
        "BG.AM.1",
        "BG.AM.3",
        why="the profiles' target is another group",
        where=method("Fido2"),
        base="profiles",
    ),
    unsafe(
        "methods_policy.authenticationMethodConfigurations.*.includeTargets.*.allowedPasskeyProfiles",
        [],
        "BG.AM.3",
        why="the group's target names no profile",
        base="profiles",
    ),
    safe(
        "methods_policy.authenticationMethodConfigurations.*.passkeyProfiles.*.passkeyTypes",
        "deviceBound,synced",
        why="device-bound allowed among others",
        base="profiles",
    ),
    unsafe(
        "methods_policy.authenticationMethodConfigurations.*.excludeTargets",
        [],
        "BG.AM.4",
        why="an enabled method not excluding the group",
        where=ENABLED_OTHER_METHODS,
    ),
    unsafe(
        "methods_policy.authenticationMethodConfigurations.*.excludeTargets.*.id",
        OTHER_ID,
        "BG.AM.4",
        why="another group excluded",
        where=ENABLED_OTHER_METHODS,
    ),
    unsafe(
        "methods_policy.authenticationMethodConfigurations.*.state",
        "enabled",
        "BG.AM.4",
        why="a method switched on that never excluded the group",
        where=method("Voice"),
        also=(("methods_policy.authenticationMethodConfigurations.*.excludeTargets", []),),
    ),
    safe(
        "methods_policy.authenticationMethodConfigurations.*.excludeTargets",
        [],
        why="a disabled method needs no exclusion",
        where=method("Voice", "X509Certificate"),
    ),
    unsafe(
        "accounts.*.fido2", [], "BG.AM.5", "BG.AM.6", why="an account without a key", where=account("ea02")
    ),
    unsafe(
        "accounts.*.fido2.*.aaGuid",
        s.AAGUID_A,
        "BG.AM.6",
        why="both keys from one vendor",
        where=account("ea02"),
    ),
    unsafe(
        "auth_strengths.*.allowedCombinations",
        _plus("password,sms"),
        "BG.AS.1",
        why="a phishable combination allowed",
        where=policy(s.STRENGTH),
    ),
    unsafe(
        "auth_strengths.*.combinationConfigurations.*.allowedAAGUIDs",
        [],
        "BG.AS.1",
        why="any key model",
        where=policy(s.STRENGTH),
    ),
    unsafe(
        "auth_strengths.*.combinationConfigurations",
        [],
        "BG.AS.1",
        why="no key restriction",
        where=policy(s.STRENGTH),
    ),
    unsafe(
        "auth_strengths.*.policyType",
        "builtIn",
        "BG.AS.1",
        "BG.CA.1",
        why="not a custom strength",
        where=policy(s.STRENGTH),
    ),
]

CA = [
    unsafe("ca_policies.*.state", "disabled", "BG.CA.1", why="policy 1 off", where=policy(s.CA1)),
    unsafe(
        "ca_policies.*.state",
        "enabledForReportingButNotEnforced",
        "BG.CA.1",
        why="policy 1 only reporting",
        where=policy(s.CA1),
    ),
    *(
        unsafe(field, value, check, why=why, where=policy(pid))
        for pid, check in ((s.CA1, "BG.CA.1"), (s.CA2, "BG.CA.2"))
        for field, value, why in (
            ("ca_policies.*.conditions.users.includeGroups", [], "the policy targets nobody"),
            (
                "ca_policies.*.conditions.applications.includeApplications",
                [AZURE_MANAGEMENT],
                "only Azure management, not all resources",
            ),
            (
                "ca_policies.*.conditions.applications.excludeApplications",
                [AZURE_MANAGEMENT],
                "an application left out",
            ),
        )
    ),
    unsafe(
        "ca_policies.*.grantControls.authenticationStrength.id",
        "00000000-0000-0000-0000-000000000004",
        "BG.CA.1",
        "BG.AS.1",
        why="a built-in strength, any phishing-resistant method",
        where=policy(s.CA1),
    ),
    unsafe(
        "ca_policies.*.grantControls.builtInControls",
        ["mfa"],
        "BG.CA.1",
        why="any MFA as well as the strength",
        where=policy(s.CA1),
        also=(("ca_policies.*.grantControls.authenticationStrength", None),),
    ),
    unsafe("ca_policies.*.state", "disabled", "BG.CA.2", why="policy 2 off", where=policy(s.CA2)),
    unsafe(
        "ca_policies.*.sessionControls.signInFrequency.frequencyInterval",
        "everyTime",
        "BG.CA.2",
        why="not the time-based 4-hour session of the design (every time is for named scenarios only)",
        where=policy(s.CA2),
    ),
    unsafe(
        "ca_policies.*.grantControls.builtInControls",
        ["mfa"],
        "BG.CA.1",
        why="any MFA, or the strength (operator OR)",
        where=policy(s.CA1),
    ),
    unsafe(
        "ca_policies.*.sessionControls.signInFrequency.value",
        24,
        "BG.CA.2",
        why="a day-long session",
        where=policy(s.CA2),
    ),
    unsafe(
        "ca_policies.*.sessionControls.signInFrequency.type",
        "days",
        "BG.CA.2",
        why="four days",
        where=policy(s.CA2),
    ),
    unsafe(
        "ca_policies.*.sessionControls.signInFrequency.isEnabled",
        False,
        "BG.CA.2",
        why="no sign-in frequency",
        where=policy(s.CA2),
    ),
    unsafe(
        "ca_policies.*.sessionControls.persistentBrowser.mode",
        "always",
        "BG.CA.2",
        why="a persistent browser",
        where=policy(s.CA2),
    ),
    unsafe(
        "ca_policies.*.sessionControls.persistentBrowser.isEnabled",
        False,
        "BG.CA.2",
        why="browser persistence not controlled",
        where=policy(s.CA2),
    ),
    unsafe("ca_policies.*.sessionControls", None, "BG.CA.2", why="no session controls", where=policy(s.CA2)),
    safe(
        "ca_policies.*.sessionControls.signInFrequency.value",
        1,
        why="a one-hour session is shorter still",
        where=policy(s.CA2),
    ),
    unsafe(
        "ca_policies.*.conditions.users.excludeGroups",
        [],
        "BG.CA.3",
        why="a policy that can lock the accounts out",
        where=OTHER_POLICIES,
    ),
    unsafe(
        "ca_policies.*.conditions.users.excludeGroups",
        [OTHER_ID],
        "BG.CA.3",
        why="another group excluded",
        where=OTHER_POLICIES,
    ),
    safe(
        "ca_policies.*.conditions.users.excludeGroups", _plus(OTHER_ID), why="another group excluded as well"
    ),
    safe("ca_policies.*.state", "disabled", why="another policy off", where=policy(s.CA001, s.CA002)),
    unsafe(
        "ca_policies.*.conditions.users.excludeGroups",
        [],
        "BG.CA.4",
        why="a report-only policy one click from enforcement",
        where=policy(REPORT_ONLY),
        base="report_only",
    ),
    unsafe(
        "ca_policies.*.state",
        "enabledForReportingButNotEnforced",
        "BG.CA.4",
        why="an MFA policy in report-only not excluding the group",
        where=policy(s.CA001),
        also=(("ca_policies.*.conditions.users.excludeGroups", []),),
    ),
    unsafe(
        "accounts.*.what_if.*.policyApplies",
        True,
        "BG.CA.5",
        why="Entra applies another policy",
        where=what_if(s.CA001),
    ),
    unsafe(
        "accounts.*.what_if.*.policyApplies",
        False,
        "BG.CA.5",
        why="Entra does not apply policy 1",
        where=what_if(s.CA1),
    ),
    unsafe(
        "ca_policies.*.conditions.clientAppTypes",
        ["browser"],
        "BG.CA.1",
        why="policy 1 covers browsers only",
        where=policy(s.CA1),
    ),
]

MONITORING = [
    unsafe("diagnostic_settings.*.properties.logs.*.enabled", False, "BG.DIAG.1", why="a category off"),
    unsafe(
        "diagnostic_settings.*.properties.logs.*.category",
        "RiskyUsers",
        "BG.DIAG.1",
        why="a category not sent",
    ),
    unsafe(
        "diagnostic_settings.*.properties.workspaceId",
        lambda w: w.replace("law-security-contoso", "law-other"),
        "BG.DIAG.1",
        "BG.AL.1",
        "BG.AL.2",
        "BG.AL.3",
        "BG.AL.4",
        "BG.AL.6",
        why="the logs sent to another workspace than the rules watch: no rule sees them",
    ),
    unsafe(
        "diagnostic_settings.*.properties.logs.*.enabled",
        False,
        "BG.DIAG.1",
        "BG.AL.1",
        why="sign-ins or directory changes reach no workspace a rule watches",
        where=_only("category", "SignInLogs", "AuditLogs"),
    ),
    unsafe(
        "diagnostic_settings.*.properties.logs.*.category",
        "RiskyUsers",
        "BG.DIAG.1",
        "BG.AL.1",
        why="sign-ins or directory changes not sent",
        where=_only("category", "SignInLogs", "AuditLogs"),
    ),
    unsafe(
        "alert_rules.*.properties.scopes",
        [s.WORKSPACE.replace("law-security-contoso", "law-other")],
        "BG.AL.1",
        why="the only audit rule watches a workspace the logs never reach",
        where=rule_named(s.RULES[1]),
    ),
    unsafe(
        "alert_rules.*.properties.scopes",
        [s.WORKSPACE.split("/providers/")[0]],
        "BG.AL.1",
        why="scoped to the resource group: its resource-centric query never returns Entra's rows",
        where=rule_named(s.RULES[1]),
    ),
    safe(
        "alert_rules.*.properties.scopes",
        [s.WORKSPACE.upper()],
        why="the workspace, in another case (ARM ids are case-insensitive)",
    ),
    unsafe(
        "coverage.*.*.noninteractive",
        False,
        "BG.AL.1",
        why="non-interactive sign-ins sent to the workspace, unseen by the only rule that saw them",
        where=rule_named(s.RULES[1]),
    ),
    safe(
        "coverage.*.*.noninteractive",
        True,
        why="the sign-in rule sees non-interactive sign-ins too",
        where=rule_named(s.RULES[0]),
    ),
    unsafe(
        "coverage.*.*.audit",
        False,
        "BG.AL.1",
        why="directory changes to an account unseen",
        where=rule_named(s.RULES[1]),
    ),
    unsafe("coverage", _no_signins, "BG.AL.1", why="sign-ins unseen by every rule"),
    safe(
        "coverage.*.*.signin",
        False,
        why="one rule misses sign-ins, the other sees them",
        where=rule_named(s.RULES[0]),
    ),
    unsafe(
        "alert_rules.*.properties.enabled",
        False,
        "BG.AL.1",
        why="the only audit rule disabled",
        where=rule_named(s.RULES[1]),
    ),
    unsafe("alert_rules.*.properties.evaluationFrequency", "PT15M", "BG.AL.2", why="every 15 minutes"),
    safe("alert_rules.*.properties.evaluationFrequency", "PT5M", why="every 5 minutes"),
    unsafe(
        "alert_rules.*.properties.windowSize",
        "PT1M",
        "BG.AL.2",
        why="a window shorter than the frequency skips events",
        where=rule_named(s.RULES[1]),
    ),
    unsafe(
        "alert_rules.*.properties.criteria.allOf.*.failingPeriods.minFailingPeriodsToAlert",
        2,
        "BG.AL.2",
        why="one sign-in alone never alerts",
        also=(("alert_rules.*.properties.criteria.allOf.*.failingPeriods.numberOfEvaluationPeriods", 2),),
    ),
    safe("alert_rules.*.properties.windowSize", "PT1H", why="a longer look-back overlaps"),
    safe(
        "alert_rules.*.properties.windowSize",
        "PT1M",
        why="a short bin, but the query time range is overridden",
        also=(("alert_rules.*.properties", lambda p: {**p, "overrideQueryTimeRange": "PT10M"}),),
    ),
    safe(
        "alert_rules.*.properties.criteria.allOf.*.failingPeriods.numberOfEvaluationPeriods",
        3,
        why="three bins looked back, one failing alerts",
    ),
    unsafe(
        "alert_rules.*.properties.criteria.allOf.*.threshold", 2.0, "BG.AL.2", why="fires only above 2 rows"
    ),
    unsafe(
        "alert_rules.*.properties.criteria.allOf.*.operator", "LessThan", "BG.AL.2", why="fires on fewer rows"
    ),
    unsafe(
        "alert_rules.*.properties.criteria.allOf.*.timeAggregation",
        "Average",
        "BG.AL.2",
        why="a metric, not a row count",
    ),
    unsafe("alert_rules.*.identity.principalId", OTHER_ID, "BG.AL.3", why="an identity with no access"),
    unsafe("alert_rules.*.identity.type", "None", "BG.AL.3", why="no identity"),
    unsafe(
        "identity_roles.*.*.roleName",
        "Storage Blob Data Reader",
        "BG.AL.3",
        why="a role that cannot read the workspace",
    ),
    unsafe("action_groups.*.properties.enabled", False, "BG.AL.4", why="the action group off"),
    unsafe(
        "action_groups.*.properties.emailReceivers.*.status", "Disabled", "BG.AL.4", why="the receiver off"
    ),
    unsafe(
        "action_groups.*.properties.emailReceivers.*.emailAddress",
        "someone@contoso.test",
        "BG.AL.4",
        why="not the watched mailbox",
    ),
    unsafe("alert_rules.*.properties.actions.actionGroups", [], "BG.AL.4", why="no action group"),
    unsafe(
        "alert_rules.*.properties.actions.actionProperties.Email.Subject", "", "BG.AL.4", why="no subject"
    ),
    unsafe("sentinel_rules.*.properties.enabled", False, "BG.AL.5", why="disabled", base="sentinel"),
    unsafe("sentinel_rules.*.properties.queryFrequency", "PT1H", "BG.AL.5", why="hourly", base="sentinel"),
    unsafe(
        "sentinel_rules.*.properties.queryPeriod",
        "PT1M",
        "BG.AL.5",
        why="a period shorter than the frequency skips events",
        base="sentinel",
    ),
    unsafe(
        "sentinel_rules.*.properties.triggerThreshold",
        3,
        "BG.AL.5",
        why="fires only above 3",
        base="sentinel",
    ),
    unsafe(
        "sentinel_rules.*.properties.triggerOperator",
        "Equal",
        "BG.AL.5",
        why="fires on exactly 0",
        base="sentinel",
    ),
    unsafe(
        "sentinel_rules.*.properties.suppressionEnabled", True, "BG.AL.5", why="suppressed", base="sentinel"
    ),
    unsafe(
        "sentinel_rules.*.properties.eventGroupingSettings.aggregationKind",
        "SingleAlert",
        "BG.AL.5",
        why="events batched",
        base="sentinel",
    ),
    unsafe(
        "sentinel_rules.*.properties.incidentConfiguration.createIncident",
        False,
        "BG.AL.5",
        why="no incident",
        base="sentinel",
    ),
    unsafe(
        "sentinel_rules.*.properties.displayName",
        "Something else",
        "BG.AL.5",
        why="the named rule is gone",
        base="sentinel",
    ),
    unsafe("sentinel_rules.*.kind", "Fusion", "BG.AL.5", why="not a scheduled or NRT rule", base="sentinel"),
    unsafe("sentinel_rules", None, "BG.AL.5", why="Sentinel not onboarded", base="sentinel"),
    safe(
        "sentinel_rules.*.properties.queryPeriod", "PT1H", why="a longer look-back overlaps", base="sentinel"
    ),
    safe("sentinel_rules.*.kind", "NRT", why="near-real-time", base="sentinel"),
    unsafe(
        "alert_rules.*.properties",
        lambda p: {**p, "muteActionsDuration": "PT1H"},
        "BG.AL.6",
        why="actions muted an hour: a second use inside it sends nothing",
    ),
    unsafe(
        "alert_rules.*.properties",
        lambda p: {**p, "muteActionsDuration": "one hour"},
        "BG.AL.6",
        why="a mute period that is not a duration",
    ),
    safe("alert_rules.*.properties", lambda p: {**p, "muteActionsDuration": "PT0M"}, why="muted for zero"),
    safe("alert_rules.*.properties", lambda p: {**p, "muteActionsDuration": None}, why="no mute period"),
]

PROCEDURES = [
    unsafe("last_pass.*", "2024-01-01T00:00:00Z", "BG.PROC.1", why="last passed two years ago"),
    unsafe("last_pass.*", None, "BG.PROC.1", why="never passed"),
    safe("last_pass.*", "2026-01-14T10:00:00Z", why="passed yesterday"),
    unsafe(
        "passed_drills",
        lambda ds: [{**d, "ended_at": "2024-01-01T00:00:00Z"} for d in ds],
        "BG.PROC.4",
        why="the people last practised two years ago",
    ),
    unsafe("passed_drills", [], "BG.PROC.4", why="nobody ever practised"),
    unsafe(
        "passed_drills",
        lambda ds: [{**d, "witness": "Someone Else"} for d in ds],
        "BG.PROC.4",
        why="the authorised witness never took part",
    ),
    safe(
        "passed_drills.*.ended_at",
        "2024-01-01T00:00:00Z",
        why="one drill long ago, the same people practised in the other",
    ),
    safe("passed_drills.*.ended_at", "2026-01-14T10:00:00Z", why="practised yesterday"),
]

RULES: list[Rule] = [*ACC, *GA, *GROUP, *PIM, *METHODS, *CA, *MONITORING, *PROCEDURES]

# Fields a check reads only to find the object it judges (ids, names joining one fact to another): changing
# one makes the object "missing", which the checks judge as such; they carry no setting to call unsafe.
JOIN_KEYS = frozenset(
    {
        "accounts",
        "accounts.*.name",
        "accounts.*.object_id",
        "accounts.*.what_if.*.id",
        "ca_policies.*.id",
        "auth_strengths.*.id",
        "admin_units.*.id",
        "unit_roles.*.id",
        "role_policies.*.rules.*.id",
        "alert_rules.*.id",
        "sentinel_rules",
    }
)

# Checks that judge the playbook alone (what people wrote down), never a fact read from the tenant.
PLAYBOOK_ONLY = {
    "BG.PROC.2": "the keys' storage places are in the playbook only",
    "BG.PROC.3": "the authorised people are in the playbook only",
}
