"""What If (`POST /identity/conditionalAccess/evaluate`): turns the v1.0 action's parameters into the
simulator's CA engine input (drill.sim.identity.ca) and its results into whatIfAnalysisResult verdicts.

Inputs the engine cannot weigh (risk levels, authentication flows, authentication contexts, user actions,
service principals) are refused with 501 rather than answered as if they did not matter.
"""

from __future__ import annotations

from typing import Any

from drill.sim.graph.http import GraphError
from drill.sim.state import SimState

_RISKS = ("signInRiskLevel", "userRiskLevel", "servicePrincipalRiskLevel", "insiderRiskLevel")


def _unsupported(what: str) -> GraphError:
    return GraphError(501, "NotImplemented", f"The simulated tenant does not imitate What If for {what}.")


def what_if(state: SimState, body: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """(policy id, policyApplies, analysisReasons) per policy, in tenant order."""
    from drill.sim.identity import ca

    identity = body.get("signInIdentity") or {}
    kind = str(identity.get("@odata.type", "#microsoft.graph.userSignIn"))
    if kind.endswith("servicePrincipalSignIn"):
        raise _unsupported("workload identities (servicePrincipalSignIn)")
    user_id = str(identity.get("userId") or "")
    user = state.tenant.user(user_id)
    if user is None:
        raise GraphError(
            400, "BadRequest", f"signInIdentity.userId '{user_id}' is not a user of this tenant."
        )
    context = body.get("signInContext") or {"@odata.type": "#microsoft.graph.applicationContext"}
    ctx_kind = str(context.get("@odata.type", ""))
    if not ctx_kind.endswith("applicationContext"):
        raise _unsupported(f"sign-in context {ctx_kind or '(untyped)'}")
    apps = tuple(str(a) for a in context.get("includeApplications") or [])
    if not apps:
        raise GraphError(
            400, "BadRequest", "signInContext.includeApplications must name at least one application."
        )
    cond = body.get("signInConditions") or {}
    for risk in _RISKS:
        if cond.get(risk) not in (None, "none"):
            raise _unsupported(f"{risk} '{cond[risk]}' (simulated sign-ins carry no risk)")
    if cond.get("authenticationFlow"):
        raise _unsupported("authentication flows")
    device = cond.get("deviceInfo") or {}
    sign_in = ca.SignInContext(
        user_id=str(user["id"]),
        app_ids=apps,
        now=state.clock.now(),
        client_app_type=str(cond.get("clientAppType") or "browser"),
        device_platform=cond.get("devicePlatform"),
        device_compliant=bool(device.get("isCompliant")),
        device_domain_joined=str(device.get("trustType") or "").lower() in ("domain joined", "serverad"),
    )
    results = ca.evaluate(state.tenant, sign_in)
    out = [(str(r.policy["id"]), bool(r.policy_applies), r.analysis_reasons) for r in results]
    if body.get("appliedPoliciesOnly"):
        out = [o for o in out if o[1]]
    return out


def whatif_item(policy: dict[str, Any], applies: bool, reasons: str) -> dict[str, Any]:
    """A whatIfAnalysisResult as the v1.0 documentation example shows it: the policy plus the verdict, with
    the few properties the service returns there beyond the v1.0 CSDL (null here, as the simulator has none).
    """
    cond = dict(policy["conditions"])
    cond.setdefault("clients", None)
    cond.setdefault("times", None)
    cond.setdefault("deviceStates", None)
    cond["applications"] = {"networkAccess": None, "globalSecureAccess": None, **cond["applications"]}
    out = {k: v for k, v in policy.items() if k not in ("conditions", "grantControls", "sessionControls")}
    out.update(policyApplies=applies, analysisReasons=reasons, partialEnablementStrategy=None)
    out.update(
        sessionControls=policy["sessionControls"], conditions=cond, grantControls=policy["grantControls"]
    )
    return out
