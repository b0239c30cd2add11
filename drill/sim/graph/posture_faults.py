"""Posture variants of the demo tenant: each breaks one Graph-side control of the recommended break-glass
design, the way an admin's change would, so every posture check has a failing fixture.

The variants find the design's objects by their role, not by the demo's ids: the break-glass group is the
group the passkey method targets, the accounts are its members, policy 1 is the enabled policy requiring an
authentication strength of that group, policy 2 the one with its session controls. Variants that touch
passkeys expect them registered (`drill demo` registers them before applying a fault).

Their link is "posture": they leave every drill step working (except where a variant breaks what a drill
needs, like the passkey method), so a drill's fault matrix can tell them apart.

`CHECK_VARIANTS` maps each check id to the variants that make it fail; each breaks that check alone, except
the checks `ALSO_FAILS` names for it. Those overlaps are in the design, not the variants: a deleted account
fails every check about it; "only FIDO2 keys" (BG.AM.5) sees any extra method BG.ACC.7 sees, and a key of the
wrong model; the PIM rules (BG.PIM.2-5) have nothing to judge without the unit's eligible role (BG.PIM.1).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from drill.sim.graph.http import Obj, iso
from drill.sim.state import Fault, SimState
from drill.sim.tenant import GLOBAL_ADMIN, Tenant

CUSTOM_ROLE_SCOPE = "/administrativeUnits/"
MFA_STRENGTH = "00000000-0000-0000-0000-000000000002"  # built-in "Multifactor authentication"
OTHER_GROUP = "0f0e0d0c-0b0a-4908-8706-050403020100"
EXCHANGE_ONLINE = "00000002-0000-0ff1-ce00-000000000000"


# -- the design's objects, by role --
def group(t: Tenant) -> Obj:
    targets = (t.authenticationMethodsPolicy.get("fido2") or {}).get("includeTargets") or []
    ids = [x["id"] for x in targets if x.get("targetType", "group") == "group"]
    found = next((g for g in t.groups if g["id"] in ids), None)
    return found or next(g for g in t.groups if g.get("isAssignableToRole"))


def accounts(t: Tenant) -> list[Obj]:
    return [u for u in (t.user(m) for m in group(t).get("members", [])) if u is not None]


def second(t: Tenant) -> Obj:
    """The account a variant breaks (the last one): the others stay healthy."""
    return accounts(t)[-1]


def policy(t: Tenant, kind: str) -> Obj:
    gid = group(t)["id"]
    for p in t.conditionalAccessPolicies:
        users = (p.get("conditions") or {}).get("users") or {}
        if p.get("state") != "enabled" or gid not in (users.get("includeGroups") or []):
            continue
        if kind == "strength" and (p.get("grantControls") or {}).get("authenticationStrength"):
            return p
        if kind == "session" and (p.get("sessionControls") or {}).get("signInFrequency"):
            return p
    raise LookupError(f"no break-glass policy with {kind}")


def unit(t: Tenant) -> Obj:
    return next(a for a in t.administrativeUnits if a.get("isMemberManagementRestricted"))


def unit_role_eligibility(t: Tenant) -> Obj:
    return next(
        e for e in t.roleEligibilities if str(e.get("directoryScopeId", "")).startswith(CUSTOM_ROLE_SCOPE)
    )


def unit_role_rule(t: Tenant, rule_id: str) -> Obj:
    role = unit_role_eligibility(t)["roleDefinitionId"]
    stored = next(p for p in t.roleManagementPolicies if p["roleDefinitionId"] == role)
    return next(r for r in stored["rules"] if r["id"] == rule_id)


def method_config(t: Tenant, config_id: str) -> Obj:
    configs = t.authenticationMethodsPolicy.get("authenticationMethodConfigurations") or []
    return next(c for c in configs if c["id"] == config_id)


# -- Accounts --
def _account_deleted(t: Tenant) -> None:
    """Also fails every check that reads the missing account (GA.1, GRP.2, AU.1, AM.5, CA.5)."""
    gone = second(t)["id"]
    t.users[:] = [u for u in t.users if u["id"] != gone]


def _synced(t: Tenant) -> None:
    user = second(t)
    user.update(onPremisesSyncEnabled=True, onPremisesImmutableId="aW1tdXRhYmxlLWlk")


def _custom_domain_upn(t: Tenant) -> None:
    user = second(t)
    user["userPrincipalName"] = user["userPrincipalName"].split("@")[0] + "@" + t.primary_domain


def _personal_name(t: Tenant) -> None:
    second(t)["displayName"] = "John Smith"


def _disabled(t: Tenant) -> None:
    second(t)["accountEnabled"] = False


def _password_expires(t: Tenant) -> None:
    """No DisablePasswordExpiration on the account, and its domain expires passwords after 90 days."""
    user = second(t)
    user["passwordPolicies"] = None
    domain = user["userPrincipalName"].split("@")[-1].lower()
    for d in t.domains:
        if str(d["id"]).lower() == domain:
            d["passwordValidityPeriodInDays"] = 90


def _sms_method(t: Tenant) -> None:
    second(t).setdefault("authenticationMethods", []).append(
        {"@odata.type": "#microsoft.graph.phoneAuthenticationMethod",
         "id": "3179e48a-750b-4051-897c-87b9720928f7",
         "phoneNumber": "+1 2065550123", "phoneType": "mobile", "smsSignInState": "notAllowedByPolicy"}
    )  # fmt: skip


def _licensed(t: Tenant) -> None:
    second(t)["assignedLicenses"] = [
        {"skuId": "06ebc4ee-1bb5-47dd-8120-11324bc54e06", "skuPartNumber": "SPE_E5", "disabledPlans": []}
    ]


# -- Global Administrator --
def _ga_time_bound(state: SimState) -> None:
    t = state.tenant
    uid = second(t)["id"]
    for a in t.roleAssignments:
        if a["principalId"] == uid and a["roleDefinitionId"] == GLOBAL_ADMIN:
            a["endDateTime"] = iso(state.clock.now() + timedelta(days=30))
            a["assignmentType"] = "Activated"


def _ga_over_ceiling(t: Tenant) -> None:
    """Three more permanent Global Administrators (daily admins): 5 active + 1 eligible."""
    for n in range(1, 4):
        uid = str(uuid.uuid5(uuid.UUID(t.id), f"extra-ga-{n}"))
        t.users.append({"id": uid, "userPrincipalName": f"admin{n}@{t.primary_domain}",
                        "displayName": f"Daily admin {n}", "accountEnabled": True,
                        "userType": "Member"})  # fmt: skip
        t.roleAssignments.append(
            {"id": f"extra-ga-{n}", "principalId": uid, "roleDefinitionId": GLOBAL_ADMIN,
             "directoryScopeId": "/",
             "appScopeId": None, "startDateTime": "2025-01-01T00:00:00Z", "endDateTime": None,
             "assignmentType": "Assigned", "memberType": "Direct", "roleAssignmentOriginId": f"extra-ga-{n}",
             "roleAssignmentScheduleId": f"extra-ga-{n}"}
        )  # fmt: skip


# -- Group and unit --
def _group_not_role_assignable(t: Tenant) -> None:
    group(t)["isAssignableToRole"] = False


def _group_extra_member(t: Tenant) -> None:
    members = group(t)["members"]
    ours = {a["id"] for a in accounts(t)}
    extra = next(u["id"] for u in t.users if u["id"] not in ours and u.get("accountEnabled"))
    members.append(extra)


def _au_not_restricted(t: Tenant) -> None:
    unit(t)["isMemberManagementRestricted"] = False


def _au_without_group(t: Tenant) -> None:
    gid = group(t)["id"]
    au = unit(t)
    au["members"] = [m for m in au.get("members", []) if m != gid]


# -- Managing the unit: custom role and PIM --
def _unit_role_standing(t: Tenant) -> None:
    """The custom role held actively and permanently at the unit's scope instead of eligible through PIM."""
    e = unit_role_eligibility(t)
    t.roleEligibilities.remove(e)
    t.roleAssignments.append({**e, "id": e["id"].replace("-e", "-a"), "assignmentType": "Assigned",
                              "roleAssignmentOriginId": e["id"],
                              "roleAssignmentScheduleId": e["id"]})  # fmt: skip


def _unit_role_standing_beside(t: Tenant) -> None:
    """Beside the intended PIM eligibility, its holder also holds the role actively and permanently."""
    e = unit_role_eligibility(t)
    t.roleAssignments.append({**e, "id": e["id"].replace("-e", "-s"), "assignmentType": "Assigned",
                              "roleAssignmentOriginId": e["id"] + "-s",
                              "roleAssignmentScheduleId": e["id"] + "-s"})  # fmt: skip


def _guest_account(t: Tenant) -> None:
    """The second account is an invited guest: userType Guest, its #EXT# UPN on the initial domain."""
    user = second(t)
    local, _, initial = user["userPrincipalName"].partition("@")  # the accounts sit on the initial domain
    user.update(userType="Guest", creationType="Invitation",
                userPrincipalName=f"{local}_fabrikam.example#EXT#@{initial}")  # fmt: skip


def _b2b_member(t: Tenant) -> None:
    """A B2B collaboration *member*: userType Member, but created by invitation."""
    second(t)["creationType"] = "Invitation"


def _ca1_browser_only(t: Tenant) -> None:
    """Policy 1 only for browsers: the What-If case (a Windows browser) still shows it applying."""
    policy(t, "strength")["conditions"]["clientAppTypes"] = ["browser"]


def _pim_8h(t: Tenant) -> None:
    unit_role_rule(t, "Expiration_EndUser_Assignment")["maximumDuration"] = "PT8H"


def _pim_no_approval(t: Tenant) -> None:
    setting = unit_role_rule(t, "Approval_EndUser_Assignment")["setting"]
    setting.update(isApprovalRequired=False, approvalStages=[])


def _pim_no_justification(t: Tenant) -> None:
    rule = unit_role_rule(t, "Enablement_EndUser_Assignment")
    rule["enabledRules"] = [r for r in rule["enabledRules"] if r != "Justification"]


def _pim_no_context(t: Tenant) -> None:
    rule = unit_role_rule(t, "AuthenticationContext_EndUser_Assignment")
    rule.update(isEnabled=False, claimValue=None)


def _context_policy_without_device(t: Tenant) -> None:
    claim = unit_role_rule(t, "AuthenticationContext_EndUser_Assignment")["claimValue"]
    for p in t.conditionalAccessPolicies:
        apps = (p.get("conditions") or {}).get("applications") or {}
        if claim in (apps.get("includeAuthenticationContextClassReferences") or []):
            grant = p["grantControls"]
            grant["builtInControls"] = [c for c in grant["builtInControls"] if c != "compliantDevice"]


# -- Authentication methods and strength --
def _fido2_disabled(t: Tenant) -> None:
    t.authenticationMethodsPolicy["fido2"]["state"] = "disabled"


def _key_restriction_locks_out(state: SimState) -> None:
    """The allow-list keeps only the first account's key model: the second account's key cannot sign in."""
    t = state.tenant
    first = next((p["aaGuid"] for p in t.passkeys if p["userId"] == accounts(t)[0]["id"]), None)
    restrictions = t.authenticationMethodsPolicy["fido2"]["keyRestrictions"]
    restrictions["aaGuids"] = [a for a in restrictions["aaGuids"] if a == first][:1]


def _passkey_profile_elsewhere(t: Tenant) -> None:
    """A passkey profile (same key rules) that targets another group, not the break-glass group."""
    fido2 = t.authenticationMethodsPolicy["fido2"]
    rules = dict(fido2.get("keyRestrictions") or {})
    fido2["passkeyProfiles"] = [
        {"id": "5b1d4c3a-2f1e-4d0c-9b8a-7f6e5d4c3b01", "name": "Staff passkeys",
         "passkeyTypes": "deviceBound",
         "attestationEnforcement": "disabled", "keyRestrictions": rules}
    ]  # fmt: skip
    fido2["includeTargets"] = [
        *fido2.get("includeTargets", []),
        {"targetType": "group", "id": OTHER_GROUP, "isRegistrationRequired": False,
         "allowedPasskeyProfiles": ["5b1d4c3a-2f1e-4d0c-9b8a-7f6e5d4c3b01"]},
    ]  # fmt: skip


def _authenticator_targets_group(t: Tenant) -> None:
    method_config(t, "MicrosoftAuthenticator")["excludeTargets"] = []


def _account_without_key(t: Tenant) -> None:
    """The second account's key registered on the first account instead: two vendors still, one keyless."""
    first, last = accounts(t)[0]["id"], second(t)["id"]
    for p in t.passkeys:
        if p["userId"] == last:
            p["userId"] = first


def _keys_one_vendor(t: Tenant) -> None:
    """Every account's key is the first account's model (the second account's key re-registered as it)."""
    first = next(p for p in t.passkeys if p["userId"] == accounts(t)[0]["id"])
    for p in t.passkeys:
        if p["userId"] == second(t)["id"]:
            p.update(aaGuid=first["aaGuid"], model=first.get("model"))


def _strength_any_key(t: Tenant) -> None:
    """The custom strength still allows fido2 only but no longer restricts the key models."""
    ref = policy(t, "strength")["grantControls"]["authenticationStrength"]["id"]
    strength = next(s for s in t.authenticationStrengthPolicies if s["id"] == ref)
    strength["combinationConfigurations"] = []


# -- Conditional Access --
def _ca1_builtin_strength(t: Tenant) -> None:
    p = policy(t, "strength")
    p["grantControls"]["authenticationStrength"] = {
        "id": MFA_STRENGTH,
        "displayName": "Multifactor authentication",
    }


def _ca1_app_excluded(t: Tenant) -> None:
    """Policy 1 leaves out one resource (Exchange Online): no longer "all resources"."""
    apps = policy(t, "strength")["conditions"]["applications"]
    apps["excludeApplications"] = [*apps.get("excludeApplications", []), EXCHANGE_ONLINE]


def _ca1_mobile_only(t: Tenant) -> None:
    """Policy 1 only on Android and iOS: read policy by policy it still looks right; What If for a Windows
    browser shows it does not apply."""
    policy(t, "strength")["conditions"]["platforms"] = {
        "includePlatforms": ["android", "iOS"],
        "excludePlatforms": [],
    }


def _ca2_12_hours(t: Tenant) -> None:
    policy(t, "session")["sessionControls"]["signInFrequency"]["value"] = 12


def _legacy_block_includes_group(t: Tenant) -> None:
    """The legacy-authentication block stops excluding the group (What If for a browser still shows two)."""
    gid = group(t)["id"]
    for p in t.conditionalAccessPolicies:
        types = (p.get("conditions") or {}).get("clientAppTypes") or []
        grant = p.get("grantControls") or {}
        if "block" in (grant.get("builtInControls") or []) and "all" not in types:
            users = p["conditions"]["users"]
            users["excludeGroups"] = [g for g in users.get("excludeGroups", []) if g != gid]


def _report_only_includes_group(t: Tenant) -> None:
    """A report-only policy for all users (legacy clients), without the break-glass exclusion."""
    t.conditionalAccessPolicies.append(
        {"id": "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c99",
         "displayName": "CA099 - Require compliant device (pilot)",
         "state": "enabledForReportingButNotEnforced", "createdDateTime": "2025-06-01T00:00:00Z",
         "modifiedDateTime": None,
         "conditions": {"clientAppTypes": ["exchangeActiveSync", "other"],
                        "applications": {"includeApplications": ["All"], "excludeApplications": []},
                        "users": {"includeUsers": ["All"], "excludeUsers": [], "includeGroups": [],
                                  "excludeGroups": [], "includeRoles": [], "excludeRoles": []}},
         "grantControls": {"operator": "OR", "builtInControls": ["compliantDevice"],
                           "customAuthenticationFactors": [], "termsOfUse": []},
         "sessionControls": None}
    )  # fmt: skip


def _whatif_account_excluded(t: Tenant) -> None:
    """Policy 1 still targets the group but excludes the second account by id: only What If shows it."""
    users = policy(t, "strength")["conditions"]["users"]
    users["excludeUsers"] = [*users.get("excludeUsers", []), second(t)["id"]]


def _on_tenant(edit: Callable[[Tenant], Any]) -> Callable[[SimState], None]:
    def apply(state: SimState) -> None:
        with state.lock:
            edit(state.tenant)

    return apply


def _locked(edit: Callable[[SimState], Any]) -> Callable[[SimState], None]:
    def apply(state: SimState) -> None:
        with state.lock:
            edit(state)

    return apply


_T = _on_tenant
_PIM_RULES = ("BG.PIM.2", "BG.PIM.3", "BG.PIM.4", "BG.PIM.5")
_DELETED_ALSO = (
    *(f"BG.ACC.{n}" for n in range(2, 10)), "BG.GA.1", "BG.GRP.2", "BG.AU.1",
    "BG.AM.1", "BG.AM.4", "BG.AM.5", "BG.AM.6", "BG.CA.1", "BG.CA.2", "BG.CA.3", "BG.CA.5",
)  # fmt: skip
# name, the check it breaks, the checks that necessarily fail with it (as the checks read the design), apply,
# summary
_VARIANTS: list[tuple[str, tuple[str, ...], tuple[str, ...], Callable[[SimState], None], str]] = [
    ("posture-account-deleted", ("BG.ACC.1",), _DELETED_ALSO, _T(_account_deleted),
     "the second break-glass account is deleted"),
    ("posture-account-synced", ("BG.ACC.2",), (), _T(_synced),
     "the second account is synchronised from on-premises"),
    ("posture-upn-custom-domain", ("BG.ACC.3",), (), _T(_custom_domain_upn),
     "the second account's UPN is on the custom domain"),
    ("posture-personal-name", ("BG.ACC.4",), (), _T(_personal_name),
     "the second account is named after a person"),
    ("posture-account-disabled", ("BG.ACC.5",), (), _T(_disabled),
     "the second account is disabled (accountEnabled false)"),
    ("posture-password-expires", ("BG.ACC.6",), (), _T(_password_expires),
     "the second account's password expires after 90 days"),
    ("posture-extra-method-sms", ("BG.ACC.7",), ("BG.AM.5",), _T(_sms_method),
     "the second account has an SMS phone method registered"),
    ("posture-account-licensed", ("BG.ACC.8",), (), _T(_licensed),
     "the second account holds a Microsoft 365 E5 licence"),
    ("posture-ga-time-bound", ("BG.GA.1",), (), _locked(_ga_time_bound),
     "the second account's Global Administrator ends in 30 days"),
    ("posture-ga-over-ceiling", ("BG.GA.2",), (), _T(_ga_over_ceiling),
     "three more permanent Global Administrators (6 in all)"),
    ("posture-group-not-role-assignable", ("BG.GRP.1",), (), _T(_group_not_role_assignable),
     "the break-glass group is not role-assignable"),
    ("posture-group-extra-member", ("BG.GRP.2",), (), _T(_group_extra_member),
     "a daily admin is a member of the break-glass group"),
    ("posture-au-not-restricted", ("BG.AU.1",), ("BG.PIM.1", *_PIM_RULES), _T(_au_not_restricted),
     "the unit holding the accounts is not restricted management"),
    ("posture-au-without-group", ("BG.AU.1",), (), _T(_au_without_group),
     "the break-glass group is not in the restricted unit"),
    ("posture-unit-role-standing", ("BG.PIM.1",), (*_PIM_RULES, "BG.PIM.6"), _T(_unit_role_standing),
     "the unit's management role is held permanently, not eligible"),
    ("posture-unit-role-standing-beside-pim", ("BG.PIM.6",), (), _T(_unit_role_standing_beside),
     "beside its PIM eligibility, the unit's management role is also held actively and permanently"),
    ("posture-account-guest", ("BG.ACC.9",), (), _T(_guest_account),
     "the second account is an invited guest (#EXT# UPN on the initial domain)"),
    ("posture-account-b2b-member", ("BG.ACC.9",), (), _T(_b2b_member),
     "the second account is a B2B member (creationType Invitation)"),
    ("posture-pim-8h-activation", ("BG.PIM.2",), (), _T(_pim_8h),
     "the unit's management role activates for 8 hours"),
    ("posture-pim-no-approval", ("BG.PIM.3",), (), _T(_pim_no_approval),
     "the unit's management role activates without approval"),
    ("posture-pim-no-justification", ("BG.PIM.4",), (), _T(_pim_no_justification),
     "the unit's management role activates without justification"),
    ("posture-pim-no-auth-context", ("BG.PIM.5",), (), _T(_pim_no_context),
     "the unit's management role needs no authentication context"),
    ("posture-context-policy-no-device", ("BG.PIM.5",), (), _T(_context_policy_without_device),
     "the authentication context's CA policy does not require a compliant device"),
    ("posture-fido2-disabled", ("BG.AM.1",), (), _T(_fido2_disabled),
     "the Passkey (FIDO2) method is disabled"),
    ("posture-key-restriction-locks-out", ("BG.AM.2",), (), _locked(_key_restriction_locks_out),
     "the FIDO2 key restriction leaves out the second account's key model"),
    ("posture-passkey-profile-elsewhere", ("BG.AM.3",), (), _T(_passkey_profile_elsewhere),
     "a passkey profile targets another group, not the group"),
    ("posture-authenticator-targets-group", ("BG.AM.4",), (), _T(_authenticator_targets_group),
     "Microsoft Authenticator no longer excludes the break-glass group"),
    ("posture-account-without-key", ("BG.AM.5",), (), _T(_account_without_key),
     "the second account has no FIDO2 key (moved to the first)"),
    ("posture-keys-one-vendor", ("BG.AM.6",), ("BG.AM.5",), _T(_keys_one_vendor),
     "both accounts' keys are the same model"),
    ("posture-strength-any-key", ("BG.AS.1",), (), _T(_strength_any_key),
     "the custom strength no longer restricts the key models"),
    ("posture-ca1-builtin-strength", ("BG.CA.1",), ("BG.AS.1",), _T(_ca1_builtin_strength),
     "policy 1 requires the built-in MFA strength instead"),
    ("posture-ca1-app-excluded", ("BG.CA.1",), (), _T(_ca1_app_excluded),
     "policy 1 excludes Exchange Online: not all resources"),
    ("posture-ca1-browser-only", ("BG.CA.1",), (), _T(_ca1_browser_only),
     "policy 1 applies to browsers only (What If for a Windows browser still shows it)"),
    ("posture-ca1-mobile-only", ("BG.CA.1",), ("BG.CA.5",), _T(_ca1_mobile_only),
     "policy 1 applies on Android and iOS only (What If for a Windows browser shows one policy)"),
    ("posture-ca2-12h-frequency", ("BG.CA.2",), (), _T(_ca2_12_hours),
     "policy 2 asks for a sign-in every 12 hours"),
    ("posture-legacy-block-includes-group", ("BG.CA.3",), (), _T(_legacy_block_includes_group),
     "the legacy-authentication block no longer excludes the break-glass group"),
    ("posture-report-only-includes-group", ("BG.CA.4",), (), _T(_report_only_includes_group),
     "a report-only policy for all users does not exclude the group"),
    ("posture-whatif-account-excluded", ("BG.CA.5",), ("BG.CA.1",), _T(_whatif_account_excluded),
     "policy 1 excludes the second account by id (only What If shows it)"),
]  # fmt: skip

FAULTS: list[Fault] = [Fault(name, "posture", summary, apply) for name, _, _, apply, summary in _VARIANTS]
# check id -> the variants that break it; each breaks exactly that check unless ALSO_FAILS names others
CHECK_VARIANTS: dict[str, list[str]] = {}
# variant -> the checks that fail with its own, because they read the same object (the design has no way to
# break, say, "at least two accounts" without every check about the missing account noticing)
ALSO_FAILS: dict[str, list[str]] = {}
for _variant in _VARIANTS:
    for _check in _variant[1]:
        CHECK_VARIANTS.setdefault(_check, []).append(_variant[0])
    if _variant[2]:
        ALSO_FAILS[_variant[0]] = list(_variant[2])
