"""Step: the real browser sign-in, the page's WebAuthn request answered by the account's key.

msal builds the authorize URL (auth code + PKCE, login_hint, prompt=login) and redeems the code; Chromium
walks the pages with the UI profile; the bridge hands the ceremony to the key (the operator types the PIN
and touches it). The token stays in memory; the record gets its claims without the signature.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from drill.browser.locate import choose_browser, choose_headless
from drill.evidence.model import SignInPage, StepResult
from drill.steps.base import StepBuilder, utcnow
from drill.steps.context import DrillContext

NAME, TITLE = "signin", "Browser sign-in with the passkey"
CLAIMS = ("aud", "iss", "tid", "oid", "upn", "amr", "wids", "scp", "appid", "azp", "iat", "exp")
PASSKEY_AMR = "fido"


def token_claims(jwt: str) -> dict[str, Any]:
    """The payload of a JWT, unverified (the resource verifies it); only the claims we report."""
    try:
        payload = jwt.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return {k: data[k] for k in CLAIMS if k in data}


def _exchange_refused(exc: Exception, authorize_url: str) -> str:
    """The token endpoint's refusal, with the administrator's fix when it is the drill app's setup."""
    from drill.browser.setup_errors import AppRequest, setup_fix

    code = getattr(exc, "code", "")
    found = re.search(r"AADSTS(\d{5,7})", str(exc))
    fix = setup_fix(int(found.group(1)), AppRequest.from_authorize_url(authorize_url)) if found else None
    return f"code exchange refused: {exc} ({code})" + (f"; fix: {fix}" if fix else "")


async def run(ctx: DrillContext) -> StepResult:
    from drill.auth import AuthError, start_browser_flow
    from drill.browser.bridge import WebAuthnBridge
    from drill.browser.launch import chromium
    from drill.browser.recording import Recorder
    from drill.browser.signin import sign_in
    from drill.browser.ui_profile import INTERSTITIALS, UiProfile
    from drill.clients import graph_scopes
    from drill.steps.key_identity import prove_hidden_key, warn_before_ceremony

    sb = StepBuilder(NAME, TITLE)
    pb, acct = ctx.playbook, ctx.account
    if ctx.key is None:
        ctx.key = ctx.open_key()
    ctx.key_info = ctx.key_info or ctx.key.describe()
    warn_before_ceremony(ctx, ctx.key_info)
    profile = UiProfile().with_overrides(dict(pb.browser.ui_profile))
    sb.evidence["ui_profile"] = profile.version
    flow = start_browser_flow(
        ctx.cloud,
        str(pb.tenant.id),
        str(pb.drill_app.client_id),
        pb.drill_app.redirect_uri,
        graph_scopes(ctx.cloud, pb.drill_app.scopes),
        acct.upn,
    )
    bridge = WebAuthnBridge(ctx.key)
    recorder = Recorder(ctx.save_screenshot)
    headless, why = choose_headless(pb.browser.headless, ctx.headed)
    choice = choose_browser(
        pb.browser.channel, str(pb.browser.executable) if pb.browser.executable else None, headless=headless
    )
    sb.evidence["headless"] = {"headless": headless, "reason": why}
    ctx.timings.signin_started_at = utcnow()
    async with chromium(
        choice,
        headless=headless,
        extra_args=ctx.browser_args,
        locale=pb.browser.locale,
    ) as session:
        ctx.browser_version = session.version
        ctx.browser = session.evidence()
        sb.evidence["browser"] = session.evidence()
        sb.evidence["user_agent"] = session.user_agent or "Chromium's own (headed)"
        await bridge.install(session.context)

        outcome = await sign_in(
            session.context,
            flow.authorize_url,
            flow.redirect_uri,
            acct.upn,
            profile,
            recorder,
            float(pb.sla.signin),
            ceremony_active=lambda: bridge.in_progress,
        )
    sb.evidence["pages"] = [p.__dict__ for p in outcome.pages]
    sb.evidence["page_sequence"] = [SignInPage(**item).model_dump() for item in outcome.sequence()]
    sb.screenshots.extend(p.screenshot for p in outcome.pages if p.screenshot)
    sb.evidence["browser_notes"] = recorder.evidence()
    sb.evidence["webauthn"] = bridge.ceremonies
    if not outcome.ok or outcome.redirect_url is None:
        sb.check("signed_in", "Sign-in with the passkey", False, outcome.reason, outcome.evidence())
        if outcome.page in INTERSTITIALS:
            ctx.finding("critical", "Interrupt on a break-glass sign-in", outcome.reason, NAME)
        return sb.finish()
    try:
        tokens = flow.complete(outcome.redirect_url)
    except AuthError as exc:
        sb.check("signed_in", "Sign-in with the passkey", False, _exchange_refused(exc, flow.authorize_url))
        return sb.finish()
    finally:
        outcome.redirect_url = None  # the code is spent or useless: drop it now
    ctx.tokens = tokens
    ctx.signin_completed_at = ctx.timings.signin_completed_at = utcnow()
    ctx.timings.signin_s = round((ctx.signin_completed_at - ctx.timings.signin_started_at).total_seconds(), 3)
    claims = token_claims(tokens.access_token)
    ctx.token_claims = claims
    sb.check("signed_in", "Sign-in with the passkey", True, outcome.reason, {"pages": len(outcome.pages)})
    sb.check(
        "webauthn_used",
        "The page's WebAuthn request was answered by the key",
        any(c.get("result") == "ok" and c.get("kind") == "get" for c in bridge.ceremonies),
        f"{len(bridge.ceremonies)} ceremony(ies)",
        {"ceremonies": bridge.ceremonies},
    )
    same_user = claims.get("oid") == str(acct.object_id) and claims.get("tid") == str(pb.tenant.id)
    sb.check(
        "token_subject",
        "The token is the break-glass account's, in this tenant",
        same_user,
        "oid and tid match the playbook" if same_user else f"oid {claims.get('oid')} tid {claims.get('tid')}",
        {"claims": claims},
    )
    amr = list(claims.get("amr") or [])
    sb.check(
        "token_amr",
        "The token records a FIDO2 sign-in (amr)",
        PASSKEY_AMR in amr,
        f"amr is {amr}",
        required=False,
    )
    if PASSKEY_AMR not in amr:
        ctx.finding(
            "advisory", "amr without 'fido'", f"the token's amr is {amr}; the sign-in log is the proof", NAME
        )
    await prove_hidden_key(ctx, sb, bridge.ceremonies)
    return sb.finish("signed in with the passkey")
