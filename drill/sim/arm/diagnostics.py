"""Entra's diagnostic settings as ARM serves them, in each plausible form (drill/sim/beliefs.py).

Two beliefs (README.md and DIFFERENCES.md hold the sources):

- Whether an *application* may read them at all. Public reports show service principals refused with 403
  `AuthorizationFailed` on `microsoft.aadiam/diagnosticSettings/read`, even holding directory roles
  (azure-rest-api-specs #11085, terraform-provider-azurerm #12986 and PR 13092: "does not support service
  principal authentication"); others report an Azure role assigned at `/providers/Microsoft.aadiam` (which
  only a Global Administrator with elevated access can grant) lets one in. Both are served: `readable`
  honours that role assignment, `forbidden-for-apps` refuses every application token whatever its roles.
- How a tenant spreads the categories over settings. Nothing stops one setting sending SignInLogs and
  another AuditLogs to the same workspace, and both tables arrive: `split-by-category` serves one setting
  per enabled category (the others listed disabled), same workspace, same data flow.
"""

from __future__ import annotations

from typing import Any

from drill.sim.arm import resources
from drill.sim.beliefs import Belief, form
from drill.sim.state import SimState

APP_READ = "entra-diagnostic-settings-app-read"
LAYOUT = "entra-diagnostic-settings-layout"

BELIEFS = [
    Belief(APP_READ, "whether ARM lets an application (service principal) read Entra's diagnostic settings",
           {"readable": "an application holding a read role at /providers/microsoft.aadiam lists them",
            "forbidden-for-apps": "403 AuthorizationFailed to every application token, whatever its roles"}),
    Belief(LAYOUT, "how the tenant spreads the log categories over its Entra diagnostic settings",
           {"one-setting": "one setting sends every category to the workspace",
            "split-by-category": "one setting per category, all to the same workspace (the other "
                                 "categories listed disabled)"}),
]  # fmt: skip


def refuses(state: SimState, claims: dict[str, Any]) -> bool:
    """Whether this token is refused under the tenant's form of APP_READ (before any role is looked at)."""
    return form(state, APP_READ) == "forbidden-for-apps" and claims.get("idtyp") == "app"


def listed(state: SimState) -> list[dict[str, Any]]:
    """The `value` of GET /providers/microsoft.aadiam/diagnosticSettings under the tenant's LAYOUT form."""
    out = []
    for setting in state.tenant.diagnosticSettings:
        body = resources.diagnostic_setting_resource(state, setting)
        logs = body["properties"]["logs"]
        if form(state, LAYOUT) == "one-setting" or len(logs) < 2:
            out.append(body)
            continue
        for log in logs:
            if not log["enabled"]:
                continue
            name = f"{setting['name']}-{log['category'].lower()}"
            part = {**body, "id": body["id"].rsplit("/", 1)[0] + f"/{name}", "name": name}
            part["properties"] = {**body["properties"],
                                  "logs": [{**other, "enabled": other is log} for other in logs]}  # fmt: skip
            out.append(part)
    return out
