"""Preflight's permission self-check: every grant this drill's features need, before any key is touched.

One failed check per missing grant, each one line naming the identity, the permission or role, its scope
and the fix (drill/permissions/fixes.py); the grants found present, and how, go to the step's evidence.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from drill.steps.base import StepBuilder
from drill.steps.context import DrillContext

TITLE = "Permission granted"


async def check_permissions(ctx: DrillContext, sb: StepBuilder, *, every_feature: bool = False) -> None:
    """`every_feature`: also the scheduler's (audit, watch, keyless, mail), as `drill preflight` checks the
    whole tool the day before; a drill's own preflight checks only what the drill needs."""
    from drill.auth import observer_credential
    from drill.permissions import features_of
    from drill.permissions.selfcheck import check_grants

    check_filing_folders(ctx, sb)
    hides_key = ctx.key_path is not None and ctx.key_path.hides_key
    features = features_of(ctx.playbook, scheduler=every_feature, windows_key=hides_key)
    try:
        ctx.observer = ctx.observer or observer_credential(ctx.playbook, ctx.cloud)
        result = await check_grants(ctx.playbook, ctx.cloud, ctx.observer, features, ctx.account)
    except Exception as exc:  # noqa: BLE001 - a self-check that cannot run is a failed check, not a crash
        sb.check("permissions", "Permissions checked", False, f"{type(exc).__name__}: {str(exc)[:300]}")
        return
    sb.evidence["permissions"] = {"features": sorted(features), **result.evidence()}
    for verdict in result.verdicts:
        if verdict.blocks and verdict.line:
            sb.check(
                f"permission:{verdict.grant.id}", f"{TITLE}: {verdict.grant.permission}", False, verdict.line
            )
    for verdict in result.findings:  # optional: said with its fix, the drill proves the same another way
        sb.check(
            f"permission:{verdict.grant.id}",
            f"{TITLE} (optional): {verdict.grant.permission}",
            False,
            verdict.line,
            required=False,
        )
    unverified = [v.grant.id for v in result.verdicts if v.unverified]
    if result.ok:
        sb.check(
            "permissions",
            "Every permission the playbook's features need is granted",
            True,
            f"{sum(v.present for v in result.verdicts)} grants present"
            + (f", {len(unverified)} not checked (throttled: {', '.join(unverified)})" if unverified else ""),
        )
    elif not result.lines:
        sb.check("permissions", "Permissions checked", False, "a grant could not be judged")


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.is_dir():
            return candidate
    return Path.cwd()


def check_filing_folders(ctx: DrillContext, sb: StepBuilder) -> None:
    """A harmless write probe where each folder filing target will be written (its nearest existing folder:
    filing creates the rest): a private temporary file, created and removed."""
    for item in ctx.playbook.evidence.filing:
        if item.kind != "folder":
            continue
        target = Path(item.path).absolute()
        where = _nearest_existing(target)
        try:
            with tempfile.NamedTemporaryFile(dir=where, prefix=".drill-probe-"):
                pass
        except OSError as exc:
            sb.check(
                "filing_folder",
                "Filing folder is writable",
                False,
                f"the operator's account cannot write to {where} (filing target {target}): "
                f"{exc.strerror or exc}; grant it write access there or change evidence.filing",
            )
            continue
        sb.evidence.setdefault("filing_folders", {})[str(target)] = f"write probe in {where} succeeded"
