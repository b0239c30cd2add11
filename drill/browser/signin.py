"""Drive Entra's sign-in pages until the redirect brings the code back, or fail naming the page.

Pages are recognised as the reference says Entra's can be (docs/SIGNIN_PAGES.md): by `$Config.pgid` / the
PageID meta and `$Config` keys; the views of the converged page (username, password, picker, FIDO) by the
element that is visible; the FIDO ceremony page by its path and `sFidoChallenge`. Whatever else shows up
ends the sign-in at once with a screenshot and a redacted `$Config` summary, never with a guess, and never
by waiting for the SLA. The redirect to the drill app's redirect URI is caught in the browser (RedirectTrap),
so the code stays in this process's memory.

Timers: a page that should move on by itself (the FIDO view navigating to the ceremony page, the ceremony
page calling WebAuthn, a view after our click) gets `unknown_grace_s`; that timer is suspended while a
WebAuthn ceremony runs (the operator typing the PIN or touching the key), because only the SLA may bound a
human.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import structlog

from drill.browser.recording import Recorder, Save, as_recorder, bare, redact_note
from drill.browser.redirect_trap import RedirectTrap
from drill.browser.setup_errors import ADMIN_APPROVAL_PAGE, CONSENT_PAGE, AppRequest, setup_fix
from drill.browser.ui_profile import INTERSTITIALS, PAGES, UiProfile, aadsts_meaning
from drill.fidelity import note_page

log = structlog.get_logger("drill.browser.signin")
Shoot = Save  # the older name
NO_FIDO = "Entra does not offer FIDO to this browser"
BENIGN = {"50058"}  # "no SSO session": on every first sign-in page, harmless
# A screenshot is evidence, never a reason to stop watching the sign-in: Playwright's default waits 30 s for
# a frame, and a page caught mid-navigation sometimes gives none (seen about once in 25 drills: the sign-in
# loop stood still for 30 s while the next page waited). One that takes longer is noted and skipped.
SCREENSHOT_TIMEOUT_S = 3.0

_DETECT = """([sel, texts]) => {
  const cfg = (window.$Config && typeof window.$Config === "object") ? window.$Config : null;
  const meta = document.querySelector('meta[name="PageID"]');
  const visible = (s) => {
    let e = null;
    try { e = document.querySelector(s); } catch (err) { return false; }
    if (!e || e.hidden) return false;
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== "hidden";
  };
  const shownText = (s) => {
    try {
      return Array.from(document.querySelectorAll(s)).filter((e) => e.getBoundingClientRect().height > 0)
        .map((e) => e.textContent.trim()).filter(Boolean).join(" | ");
    } catch (err) { return ""; }
  };
  // A body that is not rendered yet (pages hide it until their scripts load) answers innerText with its
  // textContent, scripts included: a failure message inside a script would read as shown. Wait for it.
  const rendered = !!document.body && document.body.getClientRects().length > 0;
  const body = rendered ? (document.body.innerText || "") : "";
  const has = (t) => !!t && body.toLowerCase().includes(String(t).toLowerCase());
  const tiles = Array.from(document.querySelectorAll("[role=button], [role=link], a, button"))
    .filter((e) => e.getBoundingClientRect().height > 0)
    .filter((e) => (e.textContent || "").toLowerCase().includes(String(texts.fido_tile || "").toLowerCase()));
  const pick = (k) => (cfg && k in cfg) ? cfg[k] : undefined;
  return {
    url: location.href,
    title: document.title,
    ready: document.readyState,
    hasConfig: !!cfg,
    pgid: (cfg && cfg.pgid) || (meta && meta.content) || null,
    fidoSupported: pick("fIsFidoSupported"),
    hasFidoUrl: !!pick("urlFidoLogin"),
    fidoChallenge: !!pick("sFidoChallenge"),
    errorCodes: [pick("sErrorCode"), pick("iErrorCode"), ...(pick("arrValErrs") || [])]
      .filter((c) => c !== undefined && c !== null && c !== "" && c !== 0).map(String),
    errorText: pick("strServiceExceptionMessage") || null,
    correlationId: pick("correlationId") || null,
    sessionId: pick("sessionId") || null,
    sessions: (pick("arrSessions") || []).length,
    appName: pick("sAppName") || null,
    skipMfa: !!pick("urlSkipMfaRegistration"),
    usernameView: visible(sel.username_input),
    passwordView: visible(sel.password_input),
    otherWays: visible(sel.other_ways),
    kmsiNo: visible(sel.kmsi_no),
    fidoTile: tiles.length > 0,
    inlineError: shownText(sel.inline_error),
    username: (() => { const e = document.querySelector(sel.username_input); return e ? e.value : null; })(),
    texts: Object.keys(texts).filter((k) => k !== "fido_tile" && has(texts[k])),
    configKeys: cfg ? Object.keys(cfg).slice(0, 400) : [],
    ids: Array.from(document.querySelectorAll("[id]"), (e) => e.id).slice(0, 400),
  };
}"""
# Every top-level document reports its pgid and codes as soon as it is parsed, so a page that moves on by
# itself (the FIDO view posting to the ceremony page on load) is still in the page sequence.
_SEEN_SCRIPT = """(() => {
  if (window.top !== window || typeof window.__drillPageSeen !== "function") return;
  document.addEventListener("DOMContentLoaded", () => {
    const cfg = (window.$Config && typeof window.$Config === "object") ? window.$Config : {};
    const meta = document.querySelector('meta[name="PageID"]');
    const codes = [cfg.sErrorCode, cfg.iErrorCode, ...(Array.isArray(cfg.arrValErrs) ? cfg.arrValErrs : [])]
      .filter((c) => c !== undefined && c !== null && c !== "" && c !== 0).map(String);
    const pgid = cfg.pgid || (meta && meta.content) || null;
    window.__drillPageSeen({url: location.href, title: document.title, pgid: pgid,
      errorCodes: codes, errorText: cfg.strServiceExceptionMessage || null, hasConfig: !!window.$Config,
      fidoChallenge: !!cfg.sFidoChallenge, fidoSupported: cfg.fIsFidoSupported,
      sessions: Array.isArray(cfg.arrSessions) ? cfg.arrSessions.length : 0,
      configKeys: Object.keys(cfg).slice(0, 400),
      ids: Array.from(document.querySelectorAll("[id]"), (e) => e.id).slice(0, 400)});
  });
})();"""
_CLICK_TILE = """(text) => {
  const hit = Array.from(document.querySelectorAll("[role=button], [role=link], a, button"))
    .filter((e) => e.getBoundingClientRect().height > 0)
    .find((e) => (e.textContent || "").toLowerCase().includes(String(text).toLowerCase()));
  if (hit) hit.click();
  return !!hit;
}"""
_NAMES = {
    "mfaRegistrationNag": "the Authenticator registration nag (ConvergedProofUpRedirect with AADSTS50203)",
    "account_picker": "'Pick an account' (ConvergedSignIn with arrSessions)",
}
_AADSTS = re.compile(r"AADSTS(\d{5,7})")
_CODE = re.compile(r"^\d{4,7}$")


def _note_shape(kind: str, state: dict[str, Any]) -> None:
    """The page's `$Config` keys and element ids for a fidelity pack (names only, never values)."""
    keys, ids = state.get("configKeys"), state.get("ids")
    note_page(
        state.get("pgid") if isinstance(state.get("pgid"), str) else None,
        kind,
        [str(k) for k in keys] if isinstance(keys, list) else [],
        [str(i) for i in ids] if isinstance(ids, list) else [],
    )


@dataclass
class PageSeen:
    """One page (or view of the converged page) met, as it goes into the evidence: nothing secret."""

    kind: str
    title: str
    url: str  # scheme://host/path: no query or fragment
    screenshot: str | None
    pgid: str | None = None
    error_codes: list[str] = field(default_factory=list)

    def sequence_item(self) -> dict[str, Any]:
        """The page sequence entry (pgid, URL path, error codes) the evidence keeps for every drill."""
        return {"pgid": self.pgid, "view": self.kind, "path": urlsplit(self.url).path or "/",
                "host": urlsplit(self.url).hostname or "", "error_codes": list(self.error_codes)}  # fmt: skip


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
    page: str | None = None  # the page (pgid or kind) the sign-in ended on, when it failed
    config_summary: dict[str, Any] = field(default_factory=dict)  # redacted $Config of that page
    fix: str | None = None  # a setup failure's fix (the drill app's registration, consent, assignment)
    duration_s: float = 0.0
    notes: list[dict[str, Any]] = field(default_factory=list)  # console/network notes, already redacted

    def sequence(self) -> list[dict[str, Any]]:
        return [p.sequence_item() for p in self.pages]

    def evidence(self) -> dict[str, Any]:
        return {
            "pages": [p.__dict__ for p in self.pages],
            "page_sequence": self.sequence(),
            "page": self.page,
            "config_summary": self.config_summary,
            "error_code": self.error_code,
            "error_meaning": self.error_meaning,
            "correlation_id": self.correlation_id,
            "interstitial": self.interstitial,
            "fix": self.fix,
            "notes": self.notes,
        }


def codes_of(state: dict[str, Any]) -> list[str]:
    """Error codes the page's `$Config` carries (numbers only: free text never goes into the record)."""
    seen: list[str] = []
    for code in state.get("errorCodes") or []:
        text = str(code).strip()
        if _CODE.match(text) and text not in seen:
            seen.append(text)
    match = _AADSTS.search(str(state.get("errorText") or ""))
    if match and match.group(1) not in seen:
        seen.append(match.group(1))
    return seen


def harmful_codes(state: dict[str, Any]) -> list[str]:
    return [c for c in codes_of(state) if c not in BENIGN]


def _guid(value: Any) -> str | None:
    text = str(value or "")
    return text if re.fullmatch(r"[0-9a-fA-F-]{36}", text) else None


def config_summary(state: dict[str, Any]) -> dict[str, Any]:
    """What an auditor needs of an unexpected page's `$Config`: pgid, codes, correlation and request ids."""
    return {
        "pgid": state.get("pgid"),
        "error_codes": codes_of(state),
        "correlation_id": _guid(state.get("correlationId")),
        "request_id": _guid(state.get("sessionId")),
        "fido_offered": state.get("fidoSupported") is True,
    }


def classify(state: dict[str, Any]) -> str:
    """The page or view: a pgid (with the converged page's view), the FIDO ceremony page, or 'unknown'."""
    pgid = state.get("pgid")
    path = urlsplit(str(state.get("url") or "")).path.lower()
    texts = set(state.get("texts") or [])
    if path.endswith("/fido/get") and state.get("fidoChallenge"):
        if "fido_failed" in texts or state.get("otherWays"):
            return "fido_failed"
        return "fido_ceremony"
    if pgid == "ConvergedSignIn":
        if state.get("sessions"):
            return "account_picker"
        if harmful_codes(state):
            return "signin_error"
        if state.get("fidoSupported") is not True:
            return "no_fido"
        if state.get("inlineError"):
            return "signin_error"
        if state.get("passwordView"):
            return "password"
        if state.get("fidoTile"):
            return "picker"
        if state.get("usernameView"):
            return "username"
        return "signin_waiting"  # the FIDO view (navigating to the ceremony) or a view being rendered
    if pgid == "KmsiInterrupt":
        return "kmsi"
    if pgid == "ConvergedProofUpRedirect" and "50203" in codes_of(state):
        return "mfaRegistrationNag"
    if pgid in INTERSTITIALS:
        return str(pgid)
    if pgid == "ConvergedError" or (state.get("hasConfig") and harmful_codes(state)):
        return "error"
    # The consent pages' pgids are not known (PAGES.md): their titles, which Microsoft documents, name them.
    if pgid not in PAGES:
        for text_kind in (CONSENT_PAGE, ADMIN_APPROVAL_PAGE):
            if text_kind in texts:
                return text_kind
    if pgid:
        return "unknown"
    # No pgid: wording only for the pages whose pgid the reference knows (a fallback, logged as such).
    fallbacks = {"kmsi": "kmsi", "cmsi": "CmsiInterrupt", "proof_up": "ConvergedProofUpRedirect"}
    for text_kind, page_kind in fallbacks.items():
        if text_kind in texts:
            return page_kind
    return "unknown"


async def sign_in(
    context: Any,
    authorize_url: str,
    redirect_uri: str,
    login_hint: str,
    profile: UiProfile,
    recorder: Recorder | Save | None,
    deadline_s: float,
    *,
    unknown_grace_s: float = 8.0,
    ceremony_active: Callable[[], bool] | None = None,
) -> SignInOutcome:
    """Open the authorize URL and walk the pages until the redirect to `redirect_uri` is caught, a page
    ends it, or `deadline_s` passes. `recorder` gets a screenshot per page (a bare save function
    `(name, png) -> path` is accepted too). `ceremony_active` (the bridge's `in_progress`) suspends the
    page timer while the key is busy. The outcome's `redirect_url` holds the code."""
    rec = as_recorder(recorder)
    rec.attach(context)
    trap = RedirectTrap(redirect_uri)
    await trap.install(context)
    driver = _Driver(context, trap, login_hint, profile, rec, deadline_s, unknown_grace_s, ceremony_active)
    await _watch_documents(context, driver.document_seen)
    try:
        outcome = await driver.run(authorize_url)
        outcome.notes = rec.notes
        return outcome
    finally:
        await trap.close()
        if trap.url is not None:
            from playwright.async_api import Error as PlaywrightError

            for page in context.pages:  # the address bar held the code: leave nothing of it in the browser
                with contextlib.suppress(PlaywrightError):
                    await page.goto("about:blank", timeout=5000)


async def _watch_documents(context: Any, callback: Callable[[dict[str, Any], Any], None]) -> None:
    """Route every top-level document's report to `callback` (a context takes a binding only once, so a
    second sign-in on the same context re-points the one installed)."""
    holder = getattr(context, "_drill_page_seen", None)
    if isinstance(holder, list):
        holder[0] = callback
        return
    holder = [callback]
    context._drill_page_seen = holder
    await context.expose_binding("__drillPageSeen", lambda source, info: holder[0](source, info))
    await context.add_init_script(script=_SEEN_SCRIPT)


class _Driver:
    def __init__(
        self,
        context: Any,
        trap: RedirectTrap,
        hint: str,
        profile: UiProfile,
        rec: Recorder,
        deadline_s: float,
        grace_s: float,
        ceremony_active: Callable[[], bool] | None,
    ) -> None:
        self.context, self.trap, self.hint, self.profile, self.rec = context, trap, hint, profile, rec
        self.deadline_s, self.grace_s = deadline_s, grace_s
        self.ceremony_active = ceremony_active or (lambda: False)
        self.outcome = SignInOutcome(ok=False, reason="")
        self.start = time.monotonic()
        self.navigations = 0
        self.acted: set[tuple[str, int]] = set()
        self.provisional: set[int] = set()  # ids of entries only the document report made (no view yet)
        self.page: Any = None
        self.request = AppRequest()

    def done(self, ok: bool, reason: str) -> SignInOutcome:
        self.outcome.ok, self.outcome.reason = ok, reason
        self.outcome.duration_s = round(time.monotonic() - self.start, 3)
        log.info("signin.done", ok=ok, pages=[p.kind for p in self.outcome.pages])
        return self.outcome

    def fail(self, state: dict[str, Any], kind: str, reason: str, code: int | None = None) -> SignInOutcome:
        """A clear FAIL naming the page, with its code, correlation id and redacted `$Config` summary."""
        out = self.outcome
        out.page = str(state.get("pgid") or kind)
        out.config_summary = config_summary(state)
        out.correlation_id = out.config_summary["correlation_id"]
        if code is None:
            found = harmful_codes(state)
            code = int(found[0]) if found else None
        out.error_code = code
        out.error_meaning = aadsts_meaning(code) if code else None
        where = f" at {bare(str(state.get('url') or ''))}"
        tail = f" (AADSTS{code}: {out.error_meaning})" if code else ""
        corr = f"; correlation id {out.correlation_id}" if out.correlation_id else ""
        out.fix = setup_fix(kind if kind in (CONSENT_PAGE, ADMIN_APPROVAL_PAGE) else code, self.request)
        fix = f"; fix: {out.fix}" if out.fix else ""
        return self.done(False, f"{reason}{tail}{fix}{where}{corr}")

    def document_seen(self, source: dict[str, Any], info: dict[str, Any]) -> None:
        """A top-level document was parsed: into the sequence now (a page that moves on by itself is
        otherwise missed); the poll later replaces the entry with its view and screenshot."""
        if self.outcome.ok or self.outcome.reason or not isinstance(info, dict):
            return
        if bare(str(info.get("url"))) == bare(self.trap.redirect_uri):
            return
        kind = classify(info)
        _note_shape(kind, info)
        entry = PageSeen(
            kind,
            str(info.get("title") or "")[:200],
            bare(str(info.get("url"))),
            None,
            pgid=info.get("pgid") if isinstance(info.get("pgid"), str) else None,
            error_codes=codes_of(info),
        )
        self.provisional.add(id(entry))
        self.outcome.pages.append(entry)

    async def snap(self, kind: str, state: dict[str, Any]) -> None:
        from playwright.async_api import Error as PlaywrightError

        shot = None
        try:
            png = await self.page.screenshot(type="png", timeout=SCREENSHOT_TIMEOUT_S * 1000)
        except PlaywrightError as exc:
            self.rec.note("screenshot", f"no screenshot of the {kind} page: {str(exc).splitlines()[0]}")
        else:
            shot = self.rec.screenshot(
                f"signin-{sum(1 for p in self.outcome.pages if p.screenshot) + 1:02d}-{kind}", png
            )
        _note_shape(kind, state)
        entry = PageSeen(
            kind,
            str(state.get("title") or ""),
            bare(str(state.get("url"))),
            shot,
            pgid=state.get("pgid"),
            error_codes=codes_of(state),
        )
        pages = self.outcome.pages
        # The poll may read a document after the next one already reported itself: put the entry back in
        # its place, replacing that document's provisional entry, so the sequence stays in page order.
        at = next((i for i in range(len(pages) - 1, -1, -1) if pages[i].url == entry.url), None)
        later_all_provisional = at is not None and all(id(p) in self.provisional for p in pages[at + 1 :])
        if at is not None and later_all_provisional and id(pages[at]) in self.provisional:
            self.provisional.discard(id(pages[at]))
            pages[at] = entry
        elif at is not None and later_all_provisional and at < len(pages) - 1:
            pages.insert(at + 1, entry)
        else:
            pages.append(entry)

    async def run(self, authorize_url: str) -> SignInOutcome:
        from playwright.async_api import Error as PlaywrightError

        self.page = self.context.pages[0] if self.context.pages else await self.context.new_page()
        self.request = AppRequest.from_authorize_url(authorize_url)

        def navigated(frame: Any) -> None:
            if frame == self.page.main_frame:
                self.navigations += 1

        self.page.on("framenavigated", navigated)
        try:
            await self.page.goto(authorize_url, wait_until="commit", timeout=self.deadline_s * 1000)
        except PlaywrightError as exc:
            if self.trap.url is None:
                return self.done(
                    False, f"the sign-in page did not load: {redact_note(str(exc).splitlines()[0])}"
                )
        marker: tuple[Any, ...] | None = None
        since = time.monotonic()
        selectors, texts = dict(self.profile.selectors), dict(self.profile.texts)
        while True:
            if self.trap.url is not None:
                return self.redirected(self.trap.url)
            if time.monotonic() - self.start > self.deadline_s:
                last = self.outcome.pages[-1] if self.outcome.pages else None
                where = f" on {last.pgid or last.kind} ({last.url})" if last else ""
                return self.done(False, f"sign-in did not finish within {self.deadline_s:.0f}s{where}")
            try:
                state: dict[str, Any] = await self.page.evaluate(_DETECT, [selectors, texts])
            except PlaywrightError:
                await asyncio.sleep(0.1)  # navigating: the document is being replaced
                continue
            now = time.monotonic()
            if str(state.get("url") or "").startswith("about:"):
                if now - since > self.grace_s:
                    return self.done(False, f"the sign-in page did not load within {self.grace_s:.0f}s")
                await asyncio.sleep(0.1)  # the previous blank document, before the first page commits
                continue
            kind = classify(state)
            current = (bare(str(state["url"])), kind, state.get("pgid"), self.navigations)
            if current != marker and (kind != "unknown" or state.get("ready") == "complete"):
                marker, since = current, now
                await self.snap(kind, state)
            if self.ceremony_active():
                since = now  # a human is at the key: no page timer runs, only the SLA
            result = await self.step(kind, state, selectors, texts)
            if result is not None:
                return result
            if now - since > self.grace_s:
                return self.stalled(kind, state)
            await asyncio.sleep(0.15)

    def redirected(self, url: str) -> SignInOutcome:
        self.outcome.redirect_url = url
        query = parse_qs(urlsplit(url).query)
        if "error" in query:
            desc = query.get("error_description", [""])[0]
            m = _AADSTS.search(desc)
            if m:
                self.outcome.error_code = int(m.group(1))
                self.outcome.error_meaning = aadsts_meaning(self.outcome.error_code)
            self.outcome.fix = setup_fix(self.outcome.error_code, self.request)
            fix = f"; fix: {self.outcome.fix}" if self.outcome.fix else ""
            error = redact_note(query["error"][0])
            return self.done(False, f"the identity platform returned {error}: {redact_note(desc)[:300]}{fix}")
        return self.done(True, "redirected back to the drill app with an authorization code")

    async def step(
        self, kind: str, state: dict[str, Any], sel: dict[str, str], texts: dict[str, str]
    ) -> SignInOutcome | None:
        """Act once per page and view (`acted`), or end the sign-in; None means keep watching."""
        from playwright.async_api import Error as PlaywrightError

        if kind == "error":
            text = redact_note(str(state.get("errorText") or ""))[:200]
            return self.fail(
                state, kind, f"Entra refused the sign-in on {PAGES['ConvergedError'][0]}: {text}"
            )
        if kind == "signin_error":
            said = redact_note(str(state.get("inlineError") or ""))[:200]
            return self.fail(
                state, kind, f"Entra refused the sign-in on {PAGES['ConvergedSignIn'][0]}: {said}"
            )
        if kind == CONSENT_PAGE:
            return self.fail(
                state,
                kind,
                "Entra shows the consent prompt 'Permissions requested': the drill app's delegated "
                "permissions are not consented in this tenant",
            )
        if kind == ADMIN_APPROVAL_PAGE:
            return self.fail(
                state, kind, "Entra shows 'Need admin approval': the drill app's permissions need consent"
            )
        if kind == "no_fido":
            return self.fail(
                state,
                kind,
                f"{NO_FIDO}: the sign-in page's $Config has no fIsFidoSupported (Entra leaves it out for "
                "some user agents); run Chromium with a desktop Chrome user agent",
            )
        if kind in INTERSTITIALS:
            code = 50203 if kind == "mfaRegistrationNag" else PAGES.get(kind, ("", None))[1]
            page = _NAMES.get(kind) or PAGES[kind][0]
            self.outcome.interstitial = kind
            return self.fail(state, kind, f"unexpected interrupt {page}: {INTERSTITIALS[kind]}", code)
        if kind == "fido_failed":
            return self.fail(
                state,
                kind,
                "the FIDO ceremony page says \"We couldn't sign you in\": the browser's WebAuthn call failed "
                "(see the webauthn ceremonies in the evidence)",
            )
        if kind == "unknown":
            return None  # the stall timer decides (a page still loading gets its grace)
        step = (kind, self.navigations)
        if step in self.acted:
            return None
        try:
            if kind == "kmsi":
                self.acted.add(step)
                await self.page.click(sel["kmsi_no"], timeout=5000)  # "No": never the submit button (Yes)
            elif kind == "username":
                self.acted.add(step)
                if str(state.get("username") or "").strip().lower() != self.hint.lower():
                    await self.page.fill(sel["username_input"], self.hint, timeout=5000)
                await self.page.click(sel["next_button"], timeout=5000)
            elif kind == "password":
                # Never a password (and never an empty one): the key is reached through "other ways".
                if not state.get("otherWays"):
                    return self.fail(
                        state, kind, "Entra asks for a password and offers no other way to sign in"
                    )
                self.acted.add(step)
                await self.page.click(sel["other_ways"], timeout=5000)
            elif kind == "picker":
                self.acted.add(step)
                await self.page.evaluate(_CLICK_TILE, texts["fido_tile"])
        except PlaywrightError as exc:
            log.info("signin.action_failed", kind=kind, error=redact_note(str(exc).splitlines()[0]))
        return None

    def stalled(self, kind: str, state: dict[str, Any]) -> SignInOutcome:
        """The page did not move on within the grace time (and no ceremony was running)."""
        if kind == "password" or (kind == "signin_waiting" and ("password", self.navigations) in self.acted):
            return self.fail(
                state, kind, "the credential picker offers no security key for this account (only a password)"
            )
        if kind == "unknown":
            summary = config_summary(state)
            name = summary["pgid"] or f"'{state.get('title')}'"
            return self.fail(
                state,
                kind,
                f"unrecognised page {name} (UI profile {self.profile.version}); see its screenshot and the "
                "$Config summary, and override browser.ui_profile if Microsoft changed the page",
            )
        what = {
            "fido_ceremony": "the FIDO page did not start the WebAuthn ceremony",
            "signin_waiting": "the sign-in page did not move on to the security key",
            "username": "the sign-in page did not accept the account name",
            "picker": "the credential picker did not open the security key sign-in",
            "kmsi": "'Stay signed in?' did not take the answer No",
        }.get(kind, f"the page stayed on {kind}")
        return self.fail(state, kind, f"{what} within {self.grace_s:.0f}s")
