"""Conditional Access evaluation: the simulator's own reading of the policies, for sign-ins and What-If.

Pure functions over the tenant: no I/O, no clock of its own (the caller passes `now`, which decides the
user's active roles). Used by the sign-in pages (results go to the sign-in record) and by Graph's
`POST /identity/conditionalAccess/evaluate`:

    results = ca.evaluate(tenant, ca.SignInContext(user_id=..., app_ids=(resource_or_client_id, ...),
                          client_app_type="browser", now=state.clock.now()))
    # What-If: methods=() (nothing proven yet)  -> r.policy_applies, r.analysis_reasons per policy
    # sign-in: methods=("fido2",), aaguid=...    -> r.log_item() for SignInEvent.applied_policies
    outcome = ca.decide(results)                 # outcome.error_code 53003/53000, .strength_unmet, .status

Conditions honoured: users (includeUsers incl. "All"/"None"/"GuestsOrExternalUsers", groups, nested ones
too, active directory roles; exclusions win), applications (includeApplications "All"/"None"/ids against
every id in `app_ids`; a policy targeting only user actions or authentication contexts does not apply to a
sign-in), clientAppTypes ("all" or the type), platforms, locations ("All" only: the simulator has no named
locations), sign-in and user risk (the simulator's sign-ins carry no risk). Device filters and other
conditions are not imitated. Grant controls: block, mfa (met by a FIDO2 sign-in), compliantDevice,
domainJoinedDevice, authenticationStrength (allowedCombinations must contain "fido2" and, when a
fido2CombinationConfiguration lists allowedAAGUIDs, the key's AAGUID must be listed), with operator AND/OR;
anything else (terms of use, custom factors, app protection) counts as unmet. Session controls are reported
in enforcedSessionControls when the policy applies.

`enforcedGrantControls` / `enforcedSessionControls` strings follow what SigninLogs rows show as far as we
know ("Block", "Mfa", "RequireCompliantDevice", "RequireDomainJoinedDevice", "RequireAuthenticationStrength",
"SignInFrequency", "PersistentBrowserSessionMode"). conditionsSatisfied/NotSatisfied are Graph's flag
names joined with "," (`condition_bits` turns them into the integers Log Analytics stores).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from drill.sim.tenant import Tenant

CONDITION_FLAGS = {
    "none": 0, "application": 1, "users": 2, "devicePlatform": 4, "location": 8, "clientType": 16,
    "signInRisk": 32, "userRisk": 64, "time": 128, "deviceState": 256, "client": 512,
    "ipAddressSeenByAzureAD": 1024, "ipAddressSeenByResourceProvider": 2048, "unknownFutureValue": 4096,
    "servicePrincipals": 8192, "servicePrincipalRisk": 16384, "authenticationFlows": 32768,
    "insiderRisk": 65536,
}  # fmt: skip


def condition_bits(flags: str) -> int:
    """Graph's "users,application" as the integer Log Analytics stores in ConditionalAccessPolicies."""
    return sum(CONDITION_FLAGS.get(name.strip(), 0) for name in flags.split(",") if name.strip())


# Built-in authentication strengths (reference/graph/examples/authenticationStrengthPolicies_builtin_*).
BUILTIN_STRENGTHS: dict[str, dict[str, Any]] = {
    "00000000-0000-0000-0000-000000000002": {
        "displayName": "Multifactor authentication",
        "allowedCombinations": [
            "windowsHelloForBusiness",
            "fido2",
            "x509CertificateMultiFactor",
            "deviceBasedPush",
            "temporaryAccessPassOneTime",
            "temporaryAccessPassMultiUse",
        ],
    },
    "00000000-0000-0000-0000-000000000003": {
        "displayName": "Passwordless MFA",
        "allowedCombinations": [
            "windowsHelloForBusiness",
            "fido2",
            "x509CertificateMultiFactor",
            "deviceBasedPush",
        ],
    },
    "00000000-0000-0000-0000-000000000004": {
        "displayName": "Phishing-resistant MFA",
        "allowedCombinations": ["windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor"],
    },
}
MFA_METHODS = {"fido2", "windowsHelloForBusiness", "x509CertificateMultiFactor", "deviceBasedPush"}
_GRANT_NAMES = {
    "block": "Block", "mfa": "Mfa", "compliantDevice": "RequireCompliantDevice",
    "domainJoinedDevice": "RequireDomainJoinedDevice", "approvedApplication": "RequireApprovedApp",
    "compliantApplication": "RequireCompliantApp", "passwordChange": "PasswordChange",
}  # fmt: skip


@dataclass(frozen=True)
class SignInContext:
    """What is known about the sign-in being evaluated. `methods` empty means nothing proven (What-If)."""

    user_id: str
    app_ids: tuple[str, ...]  # the resource app id and the client app id
    now: datetime
    client_app_type: str = "browser"
    device_platform: str | None = None
    device_compliant: bool = False
    device_domain_joined: bool = False
    methods: tuple[str, ...] = ()  # authentication methods completed, e.g. ("fido2",)
    aaguid: str | None = None  # of the FIDO2 key used


@dataclass
class PolicyResult:
    policy: dict[str, Any]
    policy_applies: bool
    analysis_reasons: str  # Graph whatIfAnalysisReasons: notSet when it applies
    result: str  # sign-in log result enum
    satisfied: list[str] = field(default_factory=list)
    not_satisfied: list[str] = field(default_factory=list)
    grant_controls: list[str] = field(default_factory=list)
    session_controls: list[str] = field(default_factory=list)
    unmet: list[str] = field(default_factory=list)  # builtInControls (or "authenticationStrength") not met
    strength: dict[str, Any] | None = (
        None  # {authenticationStrengthId, displayName, authenticationStrengthResult}
    )

    def log_item(self) -> dict[str, Any]:
        """The item shape of SignInEvent.applied_policies / SigninLogs ConditionalAccessPolicies."""
        return {
            "id": self.policy["id"],
            "displayName": self.policy.get("displayName", ""),
            "result": self.result,
            "enforcedGrantControls": list(self.grant_controls),
            "enforcedSessionControls": list(self.session_controls),
            "conditionsSatisfied": ",".join(self.satisfied) or "none",
            "conditionsNotSatisfied": ",".join(self.not_satisfied) or "none",
        }


def transitive_groups(tenant: Tenant, object_id: str) -> list[dict[str, Any]]:
    """The groups holding the object directly or through other groups (transitiveMemberOf's groups).

    Conditional Access applies to nested groups (Microsoft: "Policy is applied to nested users and
    groups", concept-conditional-access-users-groups), at sign-in and in What If alike.
    """
    seen: dict[str, dict[str, Any]] = {}
    frontier = [object_id]
    while frontier:
        found = [g for oid in frontier for g in tenant.groups_of(oid) if g["id"] not in seen]
        seen.update({g["id"]: g for g in found})
        frontier = [g["id"] for g in found]
    return list(seen.values())


def _users_match(tenant: Tenant, cond: dict[str, Any], ctx: SignInContext) -> bool:
    user = tenant.user(ctx.user_id) or {}
    groups = {g["id"] for g in transitive_groups(tenant, ctx.user_id)}
    roles = set(tenant.active_role_template_ids(ctx.user_id, ctx.now))
    guest = user.get("userType") == "Guest"

    def hit(users: list[str], grps: list[str], rls: list[str], guests: Any) -> bool:
        return (
            "All" in users
            or ctx.user_id in users
            or ("GuestsOrExternalUsers" in users and guest)
            or bool(guests and guest)
            or bool(groups & set(grps))
            or bool(roles & set(rls))
        )

    included = hit(
        list(cond.get("includeUsers") or []),
        list(cond.get("includeGroups") or []),
        list(cond.get("includeRoles") or []),
        cond.get("includeGuestsOrExternalUsers"),
    )
    excluded = hit(
        [u for u in cond.get("excludeUsers") or [] if u != "All"],
        list(cond.get("excludeGroups") or []),
        list(cond.get("excludeRoles") or []),
        cond.get("excludeGuestsOrExternalUsers"),
    )
    return included and not excluded


def _apps_match(cond: dict[str, Any], ctx: SignInContext) -> tuple[bool, str]:
    include = list(cond.get("includeApplications") or [])
    if not include:
        reason = (
            "authenticationContext"
            if cond.get("includeAuthenticationContextClassReferences")
            else "userActions"
        )
        return False, reason
    ids = set(ctx.app_ids)
    hit = "All" in include or bool(ids & set(include))
    return hit and not (ids & set(cond.get("excludeApplications") or [])), "application"


def _conditions(
    tenant: Tenant, policy: dict[str, Any], ctx: SignInContext
) -> tuple[list[str], list[str], str]:
    """(satisfied flags, not-satisfied flags, first What-If reason or notSet)."""
    cond = policy.get("conditions") or {}
    ok: list[str] = []
    bad: list[str] = []
    reason = "notSet"

    def check(flag: str, passed: bool, why: str) -> None:
        nonlocal reason
        (ok if passed else bad).append(flag)
        if not passed and reason == "notSet":
            reason = why

    check("users", _users_match(tenant, cond.get("users") or {}, ctx), "users")
    apps_ok, why = _apps_match(cond.get("applications") or {}, ctx)
    check("application", apps_ok, why)
    types = [t.lower() for t in cond.get("clientAppTypes") or ["all"]]
    if types != ["all"]:
        check("clientType", ctx.client_app_type.lower() in types, "clientApps")
    platforms = cond.get("platforms") or {}
    if platforms.get("includePlatforms"):
        inc = [p.lower() for p in platforms["includePlatforms"]]
        exc = [p.lower() for p in platforms.get("excludePlatforms") or []]
        plat = (ctx.device_platform or "").lower()
        check(
            "devicePlatform",
            ("all" in inc or plat in inc) and bool(plat) and plat not in exc,
            "devicePlatform",
        )
    locations = cond.get("locations") or {}
    if locations.get("includeLocations"):
        inc = [str(x) for x in locations["includeLocations"]]
        exc = [str(x) for x in locations.get("excludeLocations") or []]
        check("location", "All" in inc and "All" not in exc, "location")
    if cond.get("signInRiskLevels"):
        check("signInRisk", "none" in cond["signInRiskLevels"], "signInRisk")
    if cond.get("userRiskLevels"):
        check("userRisk", "none" in cond["userRiskLevels"], "userRisk")
    return ok, bad, reason


def strength_policy(tenant: Tenant, ref: dict[str, Any]) -> dict[str, Any]:
    sid = str(ref.get("id", ""))
    custom = next((p for p in tenant.authenticationStrengthPolicies if p.get("id") == sid), None)
    found = custom or BUILTIN_STRENGTHS.get(sid) or ref
    return {"id": sid, **found}


def _strength_result(tenant: Tenant, ref: dict[str, Any], ctx: SignInContext) -> dict[str, Any]:
    policy = strength_policy(tenant, ref)
    combos = [str(c) for c in policy.get("allowedCombinations") or []]
    result = "notSet"
    if ctx.methods:
        usable = [m for m in ctx.methods if m in combos]
        result = "satisfied" if usable else "cannotSatisfy"
        if "fido2" in usable:
            for conf in policy.get("combinationConfigurations") or []:
                allowed = {str(a).lower() for a in conf.get("allowedAAGUIDs") or []}
                applies = "fido2" in (conf.get("appliesToCombinations") or []) and allowed
                if applies and (ctx.aaguid or "").lower() not in allowed:
                    result = "cannotSatisfyDueToCombinationConfiguration"
    return {
        "authenticationStrengthId": policy["id"],
        "displayName": policy.get("displayName", ""),
        "authenticationStrengthResult": result,
    }


def _grant(tenant: Tenant, policy: dict[str, Any], ctx: SignInContext, res: PolicyResult) -> bool:
    """Fill enforced/unmet controls; True when the grant is satisfied."""
    grant = policy.get("grantControls") or {}
    outcomes: list[bool] = []
    for control in grant.get("builtInControls") or []:
        res.grant_controls.append(_GRANT_NAMES.get(control, control))
        met = {
            "block": False,
            "mfa": bool(set(ctx.methods) & MFA_METHODS),
            "compliantDevice": ctx.device_compliant,
            "domainJoinedDevice": ctx.device_domain_joined,
        }.get(control, False)
        outcomes.append(met)
        if not met:
            res.unmet.append(control)
    if grant.get("authenticationStrength"):
        res.grant_controls.append("RequireAuthenticationStrength")
        res.strength = _strength_result(tenant, grant["authenticationStrength"], ctx)
        met = res.strength["authenticationStrengthResult"] == "satisfied"
        outcomes.append(met)
        if not met:
            res.unmet.append("authenticationStrength")
    for extra in (grant.get("termsOfUse") or []) + (grant.get("customAuthenticationFactors") or []):
        outcomes.append(False)
        res.unmet.append(str(extra))
    if not outcomes:
        return True
    if "block" in res.unmet:
        return False
    return all(outcomes) if str(grant.get("operator", "OR")).upper() == "AND" else any(outcomes)


def _session(policy: dict[str, Any]) -> list[str]:
    session = policy.get("sessionControls") or {}
    names = {
        "signInFrequency": "SignInFrequency", "persistentBrowser": "PersistentBrowserSessionMode",
        "cloudAppSecurity": "CloudAppSecurity", "applicationEnforcedRestrictions": "AppEnforcedRestrictions",
    }  # fmt: skip
    return [label for key, label in names.items() if (session.get(key) or {}).get("isEnabled")]


def evaluate(tenant: Tenant, ctx: SignInContext) -> list[PolicyResult]:
    """Every CA policy of the tenant, in tenant order, with whether and how it applied to this sign-in."""
    out = []
    for policy in tenant.conditionalAccessPolicies:
        state = policy.get("state", "enabled")
        ok, bad, reason = _conditions(tenant, policy, ctx)
        applies = not bad
        report_only = state == "enabledForReportingButNotEnforced"
        res = PolicyResult(policy, applies, reason, "notApplied", ok, bad)
        if state == "disabled":
            res.result, res.analysis_reasons = "notEnabled", "policyNotEnabled" if applies else reason
            res.policy_applies = False
        elif not applies:
            res.result = "reportOnlyNotApplied" if report_only else "notApplied"
        else:
            granted = _grant(tenant, policy, ctx, res)
            res.session_controls = _session(policy)
            if report_only:
                interrupted = not granted and "block" not in res.unmet and not ctx.methods
                res.result = (
                    "reportOnlySuccess"
                    if granted
                    else ("reportOnlyInterrupted" if interrupted else "reportOnlyFailure")
                )
            else:
                res.result = "success" if granted else "failure"
        out.append(res)
    return out


@dataclass
class Outcome:
    results: list[PolicyResult]
    status: str  # conditionalAccessStatus: success | failure | notApplied
    error_code: int | None  # 53003 (block or unmet grant), 53000 (compliant device), None
    strength_unmet: dict[str, Any] | None  # the unmet authentication strength result, if that is the failure
    strength: dict[str, Any] | None  # the (first) authentication strength result of an enforced policy

    def applied_policies(self) -> list[dict[str, Any]]:
        return [r.log_item() for r in self.results]


def decide(results: list[PolicyResult]) -> Outcome:
    """The enforced verdict: report-only and disabled policies never change what happens."""
    enforced = [r for r in results if r.result in ("success", "failure")]
    failed = [r for r in enforced if r.result == "failure"]
    strength = next((r.strength for r in enforced if r.strength), None)
    if not enforced:
        return Outcome(results, "notApplied", None, None, strength)
    if not failed:
        return Outcome(results, "success", None, None, strength)
    if any("block" in r.unmet for r in failed):
        return Outcome(results, "failure", 53003, None, strength)
    if all(set(r.unmet) <= {"compliantDevice", "domainJoinedDevice"} for r in failed):
        return Outcome(results, "failure", 53000, None, strength)
    unmet_strength = next((r.strength for r in failed if "authenticationStrength" in r.unmet), None)
    if unmet_strength and all(r.unmet == ["authenticationStrength"] for r in failed):
        return Outcome(results, "failure", None, unmet_strength, strength)
    return Outcome(results, "failure", 53003, None, strength)
