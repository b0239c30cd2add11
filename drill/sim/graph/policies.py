"""Policies on Graph: Conditional Access policies and What If (`evaluate`), authentication strengths, and the
authentication methods policy with its FIDO2 configuration.

Fixture policies are written sparsely; Graph always returns the full v1.0 shape (empty collections, nulls,
the authentication strength expanded inside grantControls), so they are filled out here once, the same way
for the list, the single GET and What If.
"""

from __future__ import annotations

from typing import Any

from drill.sim.graph.builtins import BUILTIN_STRENGTHS, CA_READER_ROLES, STRENGTH_STAMP
from drill.sim.graph.http import (
    GraphError,
    GraphRequest,
    GraphResponse,
    Obj,
    Perms,
    RouteSpec,
    not_found,
    ok,
    route,
)
from drill.sim.graph.odata import QuerySpec, collection, ops, parse_query, project, select_suffix
from drill.sim.tenant import Tenant

_CA = ("Policy.Read.ConditionalAccess", "Policy.Read.All", "Policy.ReadWrite.ConditionalAccess")
READ_CA = Perms(delegated=_CA, application=_CA, roles_delegated=CA_READER_ROLES, flavour="policy")
_STRENGTH = ("Policy.Read.All", "Policy.ReadWrite.ConditionalAccess", "Policy.ReadWrite.AuthenticationMethod")
READ_STRENGTHS = Perms(delegated=_STRENGTH, application=_STRENGTH, flavour="policy")
_METHODS = ("Policy.Read.AuthenticationMethod", "Policy.Read.All", "Policy.ReadWrite.AuthenticationMethod")
READ_METHODS = Perms(delegated=_METHODS, application=_METHODS, flavour="policy")

POLICIES = QuerySpec(
    "conditionalAccessPolicy",
    "conditionalAccessPolicy",
    filterable={"id": ops("eq"), "state": ops("eq", "ne"), "displayName": ops("eq", "startswith")},
    orderable=frozenset({"displayName", "createdDateTime"}),
    flavour="policy",
    default_select=(
        "id",
        "templateId",
        "displayName",
        "createdDateTime",
        "modifiedDateTime",
        "state",
        "conditions",
        "grantControls",
        "sessionControls",
    ),
)
STRENGTHS = QuerySpec(
    "authenticationStrengthPolicy",
    "authenticationStrengthPolicy",
    filterable={"id": ops("eq"), "policyType": ops("eq"), "displayName": ops("eq")},
    flavour="policy",
    default_select=(
        "id",
        "createdDateTime",
        "modifiedDateTime",
        "displayName",
        "description",
        "policyType",
        "requirementsSatisfied",
        "allowedCombinations",
        "combinationConfigurations@odata.context",
        "combinationConfigurations",
    ),
)


# -- authentication strengths --
def strength(tenant: Tenant, strength_id: str) -> Obj | None:
    """The full authenticationStrengthPolicy (built-in or the tenant's), without OData annotations."""
    for b in BUILTIN_STRENGTHS:
        if b["id"] == strength_id:
            return {
                "id": b["id"],
                "createdDateTime": STRENGTH_STAMP,
                "modifiedDateTime": STRENGTH_STAMP,
                "displayName": b["displayName"],
                "description": b["description"],
                "policyType": "builtIn",
                "requirementsSatisfied": "mfa",
                "allowedCombinations": list(b["allowedCombinations"]),
                "combinationConfigurations": [],
            }
    custom = next((c for c in tenant.authenticationStrengthPolicies if c["id"] == strength_id), None)
    if custom is None:
        return None
    return {
        "id": custom["id"],
        "createdDateTime": custom.get("createdDateTime", "2025-01-01T00:00:00Z"),
        "modifiedDateTime": custom.get(
            "modifiedDateTime", custom.get("createdDateTime", "2025-01-01T00:00:00Z")
        ),
        "displayName": custom.get("displayName"),
        "description": custom.get("description"),
        "policyType": custom.get("policyType", "custom"),
        "requirementsSatisfied": custom.get("requirementsSatisfied", "mfa"),
        "allowedCombinations": list(custom.get("allowedCombinations") or []),
        "combinationConfigurations": [dict(c) for c in custom.get("combinationConfigurations") or []],
    }


def _strength_ids(tenant: Tenant) -> list[str]:
    return [b["id"] for b in BUILTIN_STRENGTHS] + [c["id"] for c in tenant.authenticationStrengthPolicies]


def _annotated_strength(req: GraphRequest, s: Obj) -> Obj:
    ctx = (
        f"{req.base}/$metadata#policies/authenticationStrengthPolicies('{s['id']}')/combinationConfigurations"
    )
    configs = s.pop("combinationConfigurations")
    return {**s, "combinationConfigurations@odata.context": ctx, "combinationConfigurations": configs}


async def list_strengths(req: GraphRequest) -> GraphResponse:
    t = req.state.tenant
    items = [_annotated_strength(req, strength(t, i) or {}) for i in _strength_ids(t)]
    return ok(collection(req, STRENGTHS, items, "policies/authenticationStrengthPolicies"))


async def get_strength(req: GraphRequest) -> GraphResponse:
    found = strength(req.state.tenant, req.params["id"])
    if found is None:
        raise not_found(req.params["id"], "NotFound")
    q = parse_query(req, STRENGTHS, collection=False)
    ctx = f"{req.base}/$metadata#policies/authenticationStrengthPolicies{select_suffix(q)}/$entity"
    body = _annotated_strength(req, found)
    return ok({"@odata.context": ctx, **(project(STRENGTHS, body, q) if q.select else body)})


async def strength_combinations(req: GraphRequest) -> GraphResponse:
    found = strength(req.state.tenant, req.params["id"])
    if found is None:
        raise not_found(req.params["id"], "NotFound")
    ctx = f"{req.base}/$metadata#policies/authenticationStrengthPolicies('{found['id']}')"
    ctx += "/combinationConfigurations"
    return ok({"@odata.context": ctx, "value": found["combinationConfigurations"]})


# -- Conditional Access --
def ca_policy(tenant: Tenant, p: Obj) -> Obj:
    """A fixture policy in Graph's full v1.0 shape (authentication strength expanded)."""
    cond = dict(p.get("conditions") or {})
    users = {
        "includeUsers": [],
        "excludeUsers": [],
        "includeGroups": [],
        "excludeGroups": [],
        "includeRoles": [],
        "excludeRoles": [],
        "includeGuestsOrExternalUsers": None,
        "excludeGuestsOrExternalUsers": None,
        **(cond.pop("users", None) or {}),
    }
    apps = {
        "includeApplications": [],
        "excludeApplications": [],
        "includeUserActions": [],
        "includeAuthenticationContextClassReferences": [],
        "applicationFilter": None,
        **(cond.pop("applications", None) or {}),
    }
    conditions = {
        "userRiskLevels": [],
        "signInRiskLevels": [],
        "clientAppTypes": ["all"],
        "servicePrincipalRiskLevels": [],
        "insiderRiskLevels": None,
        "clients": None,
        "platforms": None,
        "locations": None,
        "devices": None,
        "clientApplications": None,
        "authenticationFlows": None,
        **cond,
        "applications": apps,
        "users": users,
    }
    grant: Obj | None = None
    if p.get("grantControls"):
        raw = dict(p["grantControls"])
        ref = raw.pop("authenticationStrength", None)
        grant = {
            "operator": "OR",
            "builtInControls": [],
            "customAuthenticationFactors": [],
            "termsOfUse": [],
            **raw,
        }
        grant["authenticationStrength"] = strength(tenant, str(ref["id"])) if ref else None
    session: Obj | None = None
    if p.get("sessionControls"):
        session = {
            "applicationEnforcedRestrictions": None,
            "cloudAppSecurity": None,
            "disableResilienceDefaults": None,
            "persistentBrowser": None,
            "signInFrequency": None,
            "secureSignInSession": None,
            **p["sessionControls"],
        }
    out = {
        "id": p["id"],
        "templateId": p.get("templateId"),
        "displayName": p.get("displayName"),
        "createdDateTime": p.get("createdDateTime"),
        "modifiedDateTime": p.get("modifiedDateTime"),
        "state": p.get("state", "enabled"),
        "conditions": conditions,
        "grantControls": grant,
        "sessionControls": session,
    }
    if "description" in p:
        out["description"] = p["description"]
    return out


def _annotate_grant(req: GraphRequest, policy: Obj) -> Obj:
    grant = policy.get("grantControls")
    if grant:
        ctx = (
            f"{req.base}/$metadata#identity/conditionalAccess/policies('{policy['id']}')"
            "/grantControls/authenticationStrength/$entity"
        )
        strength_value = grant.pop("authenticationStrength")
        grant["authenticationStrength@odata.context"] = ctx
        grant["authenticationStrength"] = strength_value
    return policy


async def list_policies(req: GraphRequest) -> GraphResponse:
    t = req.state.tenant
    items = [_annotate_grant(req, ca_policy(t, p)) for p in t.conditionalAccessPolicies]
    return ok(collection(req, POLICIES, items, "identity/conditionalAccess/policies"))


async def get_policy(req: GraphRequest) -> GraphResponse:
    t = req.state.tenant
    found = next((p for p in t.conditionalAccessPolicies if p["id"] == req.params["id"]), None)
    if found is None:
        raise not_found(req.params["id"], "ResourceNotFound")
    q = parse_query(req, POLICIES, collection=False)
    ctx = f"{req.base}/$metadata#identity/conditionalAccess/policies{select_suffix(q)}/$entity"
    body = _annotate_grant(req, ca_policy(t, found))
    return ok({"@odata.context": ctx, **(project(POLICIES, body, q) if q.select else body)})


async def evaluate(req: GraphRequest) -> GraphResponse:
    """What If: the decision is the simulator's own CA engine's (drill.sim.identity.ca), as at sign-ins."""
    body = req.body if isinstance(req.body, dict) else None
    if body is None or not isinstance(body.get("signInIdentity"), dict):
        raise GraphError(
            400,
            "BadRequest",
            "The request body must carry signInIdentity, signInContext and signInConditions.",
        )
    from drill.sim.graph.whatif import what_if, whatif_item

    results = what_if(req.state, body)
    t = req.state.tenant
    value = []
    for policy_id, applies, reasons in results:
        p = next(p for p in t.conditionalAccessPolicies if p["id"] == policy_id)
        value.append(whatif_item(ca_policy(t, p), applies, reasons))
    ctx = f"{req.base}/$metadata#Collection(microsoft.graph.whatIfAnalysisResult)"
    return ok({"@odata.context": ctx, "value": value})


# -- authentication methods policy --
def _method_configs(req: GraphRequest) -> list[Obj]:
    pol = req.state.tenant.authenticationMethodsPolicy
    configs = [dict(c) for c in pol.get("authenticationMethodConfigurations") or []]
    if pol.get("fido2"):
        configs.insert(0, _fido2(req, pol["fido2"]))
    return configs


def _fido2(req: GraphRequest, raw: Obj) -> Obj:
    out: Obj = {
        "@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration",
        "id": "Fido2",
        "state": raw.get("state", "disabled"),
        "excludeTargets": list(raw.get("excludeTargets") or []),
        "isSelfServiceRegistrationAllowed": raw.get("isSelfServiceRegistrationAllowed", True),
        "isAttestationEnforced": raw.get("isAttestationEnforced", False),
        "keyRestrictions": {
            "isEnforced": False,
            "enforcementType": "block",
            "aaGuids": [],
            **(raw.get("keyRestrictions") or {}),
        },
    }
    if "defaultPasskeyProfile" in raw:
        out["defaultPasskeyProfile"] = raw["defaultPasskeyProfile"]
    base = f"{req.base}/$metadata#policies/authenticationMethodsPolicy"
    base += "/authenticationMethodConfigurations('Fido2')"
    out["includeTargets@odata.context"] = (
        f"{base}/microsoft.graph.fido2AuthenticationMethodConfiguration/includeTargets"
    )
    out["includeTargets"] = [{"isRegistrationRequired": False, **t} for t in raw.get("includeTargets") or []]
    if "passkeyProfiles" in raw:
        out["passkeyProfiles@odata.context"] = (
            f"{base}/microsoft.graph.fido2AuthenticationMethodConfiguration/passkeyProfiles"
        )
        out["passkeyProfiles"] = list(raw["passkeyProfiles"])
    return out


async def get_methods_policy(req: GraphRequest) -> GraphResponse:
    pol = req.state.tenant.authenticationMethodsPolicy
    base = f"{req.base}/$metadata#policies/authenticationMethodsPolicy"
    body: dict[str, Any] = {
        "@odata.context": f"{base}/$entity",
        "id": pol.get("id", "authenticationMethodsPolicy"),
        "displayName": pol.get("displayName", "Authentication Methods Policy"),
        "description": pol.get(
            "description",
            "The tenant-wide policy that controls which authentication methods "
            "are allowed in the tenant, authentication method registration "
            "requirements, and self-service password reset settings",
        ),
        "lastModifiedDateTime": pol.get("lastModifiedDateTime", "2025-01-01T00:00:00Z"),
        "policyVersion": pol.get("policyVersion", "1.5"),
        "policyMigrationState": pol.get("policyMigrationState", "migrationComplete"),
        "reconfirmationInDays": pol.get("reconfirmationInDays", 0),
        "registrationEnforcement": pol.get("registrationEnforcement")
        or {
            "authenticationMethodsRegistrationCampaign": {
                "snoozeDurationInDays": 1,
                "state": "default",
                "excludeTargets": [],
                "includeTargets": [
                    {
                        "id": "all_users",
                        "targetType": "group",
                        "targetedAuthenticationMethod": "microsoftAuthenticator",
                    }
                ],
            }
        },
        "authenticationMethodConfigurations@odata.context": f"{base}/authenticationMethodConfigurations",
        "authenticationMethodConfigurations": _method_configs(req),
    }
    return ok(body)


async def get_method_config(req: GraphRequest) -> GraphResponse:
    want = req.params["id"].lower()
    found = next((c for c in _method_configs(req) if str(c.get("id", "")).lower() == want), None)
    if found is None:
        raise not_found(req.params["id"], "NotFound")
    ctx = f"{req.base}/$metadata#policies/authenticationMethodsPolicy/authenticationMethodConfigurations"
    ctx += "/$entity"
    return ok({"@odata.context": ctx, **found})


def routes() -> list[RouteSpec]:
    ca = "/identity/conditionalAccess"
    amp = "/policies/authenticationMethodsPolicy"
    return [
        route("GET", ca + "/policies", list_policies, READ_CA),
        route("GET", ca + r"/policies/(?P<id>[^/]+)", get_policy, READ_CA),
        route("POST", ca + "/evaluate", evaluate, READ_CA),
        route("GET", "/policies/authenticationStrengthPolicies", list_strengths, READ_STRENGTHS),
        route("GET", r"/policies/authenticationStrengthPolicies/(?P<id>[^/]+)", get_strength, READ_STRENGTHS),
        route(
            "GET",
            r"/policies/authenticationStrengthPolicies/(?P<id>[^/]+)/combinationConfigurations",
            strength_combinations,
            READ_STRENGTHS,
        ),
        route("GET", amp, get_methods_policy, READ_METHODS),
        route(
            "GET", amp + r"/authenticationMethodConfigurations/(?P<id>[^/]+)", get_method_config, READ_METHODS
        ),
    ]
