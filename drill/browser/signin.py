"""Drive Entra's sign-in pages with the UI profile until the redirect brings the code back.

The redirect to the drill app's redirect URI is caught by a route, so no local listener is needed and
the code stays in this process's memory. Every page we meet is screenshotted once; an error page, an
interstitial or a page we do not recognise ends the sign-in with the reason, never with a guess.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import structlog

from drill.browser.recording import Recorder, Save, as_recorder, bare, redact_note
from drill.browser.redirect_trap import RedirectTrap
from drill.browser.ui_profile import INTERSTITIALS, UiProfile, aadsts_meaning

log = structlog.get_logger("drill.browser.signin")
Shoot = Save  # the older name

_DETECT = """([sel, texts]) => {
  const present = (s) => { try { return !!document.querySelector(s); } catch (e) { return false; } };
  const cfg = window.$Config || {};
  const headings = [document.title, ...Array.from(
    document.querySelectorAll("h1, h2, [role=heading], .title, #loginHeader"), (e) => e.textContent || "")]
    .join(" | ").toLowerCase();
  return {
    byText: Object.keys(texts).filter((k) => texts[k] && headings.includes(String(texts[k]).toLowerCase())),
    url: location.href,
    title: document.title,
    ready: document.readyState,
    kinds: Object.keys(sel).filter((k) => present(sel[k])),
    username: (() => { const e = document.querySelector(sel.username_input); return e ? e.value : null; })(),
    autoFido: !!(cfg.urlFidoLogin && cfg.fAutoFido),
    errorCode: cfg.iErrorCode || null,
    errorText: cfg.strServiceExceptionMessage || null,
    correlationId: cfg.correlationId || null,
    shownError: (() => {
      const e = document.querySelector(sel.error_message);
      return e ? e.textContent : null;
    })(),
  };
}"""

_AADSTS = re.compile(r"AADSTS(\d{5,6})")


@dataclass
class PageSeen:
    kind: str
    title: str
    url: str  # without query or fragment: nothing secret ends up in the record
    screenshot: str | None


@dataclass
class SignInOutcome:
    ok: bool
    reason: str
    redirect_url: str | None = field(default=None, repr=False)  # carries the code: memory only
    pages: list[PageSeen] = field(default_factory=list)
    error_code: int | None = None
    error_meaning: str | None = None
    correlation_id: str | None = None
    interstitial: str | None = None
    duration_s: float = 0.0
    notes: list[dict[str, Any]] = field(default_factory=list)  # console/network notes, already redacted

    def evidence(self) -> dict[str, Any]:
        return {
            "pages": [p.__dict__ for p in self.pages],
            "error_code": self.error_code,
            "error_meaning": self.error_meaning,
            "correlation_id": self.correlation_id,
            "interstitial": self.interstitial,
            "notes": self.notes,
        }


def classify(state: dict[str, Any]) -> str:
    """The page kind: ids first; wording only for a kind none of whose ids is on the page."""
    kinds = set(state.get("kinds") or []) | set(state.get("byText") or [])
    if state.get("errorCode") or "error_message" in kinds:
        return "error"
    if "username_error" in kinds:
        return "username_error"
    if "auth_strength" in kinds:
        return "auth_strength"
    for name in INTERSTITIALS:
        if name in kinds:
            return name
    if "kmsi_title" in kinds:
        return "kmsi"
    if "fido_in_progress" in kinds and "username_input" not in kinds:
        return "fido"
    if "use_security_key" in kinds:
        return "password"
    if "fido_tile" in kinds:
        return "picker"
    if "username_input" in kinds:
        return "username"
    return "unknown"


def _error_code(state: dict[str, Any]) -> int | None:
    if state.get("errorCode"):
        with contextlib.suppress(TypeError, ValueError):
            return int(state["errorCode"])
    for text in (state.get("errorText"), state.get("shownError")):
        match = _AADSTS.search(str(text or ""))
        if match:
            return int(match.group(1))
    return None


async def sign_in(
    context: Any,
    authorize_url: str,
    redirect_uri: str,
    login_hint: str,
    profile: UiProfile,
    recorder: Recorder | Save | None,
    deadline_s: float,
    *,
    unknown_grace_s: float = 6.0,
) -> SignInOutcome:
    """Open the authorize URL and walk the pages until the redirect to `redirect_uri` is caught, an error
    page or interstitial ends it, or `deadline_s` passes. `recorder` gets a screenshot per page (a bare
    save function `(name, png) -> path` is accepted too). The outcome's `redirect_url` holds the code."""
    rec = as_recorder(recorder)
    rec.attach(context)
    trap = RedirectTrap(redirect_uri)
    await trap.install(context)
    try:
        outcome = await _drive(
            context, trap, authorize_url, login_hint, profile, rec, deadline_s, unknown_grace_s
        )
        outcome.notes = rec.notes
        return outcome
    finally:
        await trap.close()
        if trap.url is not None:
            from playwright.async_api import Error as PlaywrightError

            for page in context.pages:  # the address bar held the code: leave nothing of it in the browser
                with contextlib.suppress(PlaywrightError):
                    await page.goto("about:blank", timeout=5000)


async def _drive(
    context: Any,
    trap: RedirectTrap,
    authorize_url: str,
    login_hint: str,
    profile: UiProfile,
    rec: Recorder,
    deadline_s: float,
    unknown_grace_s: float,
) -> SignInOutcome:
    from playwright.async_api import Error as PlaywrightError

    start = time.monotonic()
    page = context.pages[0] if context.pages else await context.new_page()
    navigations = [0]
    page.on(
        "framenavigated",
        lambda frame: navigations.__setitem__(0, navigations[0] + 1) if frame == page.main_frame else None,
    )
    outcome = SignInOutcome(ok=False, reason="")
    seen: set[tuple[str, str, int]] = set()
    acted: set[tuple[str, int]] = set()
    last_change = time.monotonic()
    selectors = dict(profile.selectors)
    texts = dict(profile.texts)

    async def snap(kind: str, state: dict[str, Any]) -> None:
        shot = None
        with contextlib.suppress(PlaywrightError):
            png = await page.screenshot(type="png")
            shot = rec.screenshot(f"signin-{len(outcome.pages) + 1:02d}-{kind}", png)
        outcome.pages.append(PageSeen(kind, str(state.get("title") or ""), bare(str(state.get("url"))), shot))

    def done(ok: bool, reason: str) -> SignInOutcome:
        outcome.ok, outcome.reason = ok, reason
        outcome.duration_s = round(time.monotonic() - start, 3)
        return outcome

    try:
        await page.goto(authorize_url, wait_until="domcontentloaded", timeout=deadline_s * 1000)
    except PlaywrightError as exc:
        if trap.url is None:
            return done(False, f"the sign-in page did not load: {redact_note(str(exc).splitlines()[0])}")
    while True:
        if trap.url is not None:
            outcome.redirect_url = trap.url
            query = parse_qs(urlsplit(trap.url).query)
            if "error" in query:
                desc = query.get("error_description", [""])[0]
                m = _AADSTS.search(desc)
                if m:
                    outcome.error_code = int(m.group(1))
                    outcome.error_meaning = aadsts_meaning(outcome.error_code)
                error = redact_note(query["error"][0])
                return done(False, f"the identity platform returned {error}: {redact_note(desc)[:300]}")
            return done(True, "redirected back to the drill app with an authorization code")
        elapsed = time.monotonic() - start
        if elapsed > deadline_s:
            last = outcome.pages[-1] if outcome.pages else None
            where = f" on '{last.title}' ({last.url})" if last else ""
            return done(False, f"sign-in did not finish within {deadline_s:.0f}s{where}")
        try:
            state: dict[str, Any] = await page.evaluate(_DETECT, [selectors, texts])
        except PlaywrightError:
            await asyncio.sleep(0.1)  # navigating: the document is being replaced
            continue
        kind = classify(state)
        marker = (bare(str(state["url"])), kind, navigations[0])
        if marker not in seen and (kind != "unknown" or state.get("ready") == "complete"):
            seen.add(marker)
            last_change = time.monotonic()
            await snap(kind, state)
        step = (kind, navigations[0])
        if kind == "error":
            code = _error_code(state)
            outcome.error_code, outcome.correlation_id = code, state.get("correlationId")
            outcome.error_meaning = aadsts_meaning(code) if code else None
            text = str(state.get("errorText") or state.get("shownError") or "").strip()
            return done(
                False,
                f"Entra refused the sign-in: {redact_note(text)[:300] or 'an error page'}"
                + (f" ({outcome.error_meaning})" if outcome.error_meaning else ""),
            )
        if kind == "username_error":
            text = ""
            with contextlib.suppress(PlaywrightError):
                text = str(await page.text_content(selectors["username_error"]) or "").strip()
            said = redact_note(text)[:200]
            return done(False, f"the sign-in page refused the account name {login_hint}: {said}")
        if kind == "auth_strength":
            outcome.correlation_id = state.get("correlationId")
            return done(
                False,
                "the authentication strength was not met: 'another sign-in method is required' "
                "(the key's model or method is not allowed for this account)",
            )
        if kind in INTERSTITIALS:
            outcome.interstitial = kind
            return done(False, f"unexpected interstitial: {INTERSTITIALS[kind]}")
        if step not in acted:
            action = _action(kind, state, selectors, login_hint, page)
            if action is not None:
                acted.add(step)
                with contextlib.suppress(PlaywrightError):
                    await action
        if kind == "unknown" and time.monotonic() - last_change > unknown_grace_s:
            return done(
                False,
                f"unrecognised page '{state.get('title')}' at {bare(str(state.get('url')))} "
                f"(UI profile {profile.version}); see its screenshot, and override browser.ui_profile if "
                "Microsoft changed the page",
            )
        await asyncio.sleep(0.15)


def _action(kind: str, state: dict[str, Any], sel: dict[str, str], hint: str, page: Any) -> Any:
    """The one action a page kind calls for (an awaitable), or None when the page acts by itself."""
    if kind == "kmsi":
        return page.click(sel["kmsi_no"])  # "No": never click "the submit button" (it is Yes)
    if kind == "password":
        return page.click(sel["use_security_key"])
    if kind == "picker":
        return page.click(sel["fido_tile"])
    if kind == "username" and not state.get("autoFido"):
        return _submit_username(page, sel, hint, state.get("username") or "")
    return None


async def _submit_username(page: Any, sel: dict[str, str], hint: str, current: str) -> None:
    if current.strip().lower() != hint.lower():
        await page.fill(sel["username_input"], hint)
    await page.click(sel["next_button"])
