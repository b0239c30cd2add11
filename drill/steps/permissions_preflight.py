"""Preflight's permission self-check: every grant this drill's features need, before any key is touched.

One failed check per missing grant, each one line naming the identity, the permission or role, its scope
and the fix (drill/permissions/fixes.py); the grants found present, and how, go to the step's evidence.
"""

from __future__ import annotations

from drill.steps.base import StepBuilder
from drill.steps.context import DrillContext

TITLE = "Permission granted"


async def check_permissions(ctx: DrillContext, sb: StepBuilder) -> None:
    from drill.auth import observer_credential
    from drill.permissions import features_of
    from drill.permissions.selfcheck import check_grants

    features = features_of(ctx.playbook)
    try:
        ctx.observer = ctx.observer or observer_credential(ctx.playbook, ctx.cloud)
        result = await check_grants(ctx.playbook, ctx.cloud, ctx.observer, features, ctx.account)
    except Exception as exc:  # noqa: BLE001 - a self-check that cannot run is a failed check, not a crash
        sb.check("permissions", "Permissions checked", False, f"{type(exc).__name__}: {str(exc)[:300]}")
        return
    sb.evidence["permissions"] = {"features": sorted(features), **result.evidence()}
    for verdict in result.verdicts:
        if not verdict.present and verdict.line:
            sb.check(
                f"permission:{verdict.grant.id}", f"{TITLE}: {verdict.grant.permission}", False, verdict.line
            )
    if result.ok:
        sb.check(
            "permissions",
            "Every permission the playbook's features need is granted",
            True,
            f"{len(result.verdicts)} grants present",
        )
    elif not result.lines:
        sb.check("permissions", "Permissions checked", False, "a grant could not be judged")
