"""Step: leave nothing behind: revoke the account's sessions if asked, close the browser, drop tokens.

It runs whatever happened before (failures, Ctrl-C), so each part is attempted independently and a
failure in one does not skip the others.
"""

from __future__ import annotations

import asyncio
import inspect

from drill.evidence.model import StepResult
from drill.steps.base import StepBuilder
from drill.steps.context import DrillContext

NAME, TITLE = "cleanup", "Cleanup: sessions revoked, browser closed, secrets dropped"
SCOPES = ("User.RevokeSessions.All",)


async def run(ctx: DrillContext) -> StepResult:
    sb = StepBuilder(NAME, TITLE)
    if ctx.playbook.cleanup.revoke_sessions and ctx.tokens is not None:
        from drill.clients import graph_client, graph_scopes

        try:
            client = graph_client(ctx.tokens.credential(), ctx.cloud, graph_scopes(ctx.cloud, SCOPES))
            ctx.counters["graph_requests"] += 1
            resp = await client.users.by_user_id(str(ctx.account.object_id)).revoke_sign_in_sessions.post()
            ok = bool(getattr(resp, "value", False))
            sb.check(
                "revoke_sessions", "Sign-in sessions revoked", ok, "revoked" if ok else "Graph answered false"
            )
        except Exception as exc:  # noqa: BLE001 - recorded, the other cleanups still run
            sb.check(
                "revoke_sessions",
                "Sign-in sessions revoked",
                False,
                f"{type(exc).__name__}: {str(exc)[:300]}",
            )
    errors = []
    for fn in reversed(ctx.cleanups):
        try:
            result = fn()
            if inspect.isawaitable(result):
                await asyncio.wait_for(result, timeout=30)
        except Exception as exc:  # noqa: BLE001
            errors.append(f"{type(exc).__name__}: {exc}")
    ctx.cleanups.clear()
    ctx.tokens = None
    sb.check(
        "local_cleanup",
        "Browser closed, temporary profile deleted, tokens dropped",
        not errors,
        "; ".join(errors) if errors else "done",
    )
    return sb.finish("clean")
