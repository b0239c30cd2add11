"""The sign-in driver on small Entra-shaped pages served over HTTPS: it fills the name, answers "Stay
signed in?" with No, catches the code in the browser (302, script navigation and form_post alike) so it
never reaches the app's host, and fails with a reason on an error page, an interstitial or an odd page.
"""

from __future__ import annotations

import shutil
import time
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("chromium") is None, reason="needs chromium")]

REDIRECT = "https://other.test/cb"
CODE = "0.AAAAsecretcode123"


def entra(pgid: str | None, body: str, **config: object) -> str:
    """A page in Entra's shape: PageID meta, one-line $Config in a CDATA block, the title all pages share."""
    import json

    cfg = {"pgid": pgid, **config} if pgid else dict(config)
    meta = f'<meta name="PageID" content="{pgid}">' if pgid else ""
    return (
        f"<!doctype html><html><head>{meta}<title>Sign in to your account</title>"
        '<script type="text/javascript">'
        f"//<![CDATA[\n$Config={json.dumps(cfg)};\n//]]></script></head><body>{body}</body></html>"
    )


SIGNIN = {"sErrorCode": "50058", "arrValErrs": ["50058"], "fIsFidoSupported": True}
USERNAME = entra(
    "ConvergedSignIn",
    """<form onsubmit="event.preventDefault();
location = '/kmsi?u=' + encodeURIComponent(this.loginfmt.value)">
<input type="email" name="loginfmt" id="i0116"><input type="password" name="passwd" id="i0118" hidden>
<input type="submit" id="idSIButton9" value="Next"></form>""",
    **SIGNIN,
)
KMSI = entra(
    "KmsiInterrupt",
    """<div role="heading">Stay signed in?</div>
<input type="button" id="idBtn_Back" value="No" onclick="location = '{no}'">
<input type="submit" id="idSIButton9" value="Yes" onclick="location = '/yes'">""",
)
ERROR = entra(
    "ConvergedError",
    "<div role=heading>You cannot access this right now</div>",
    iErrorCode=53003,
    sErrorCode="53003",
    strServiceExceptionMessage="AADSTS53003: Access has been blocked by Conditional Access policies.",
    correlationId="11111111-2222-3333-4444-555555555555",
)
FORM_POST = f"""<!doctype html><title>Working...</title><form method="post" action="{REDIRECT}">
<input type="hidden" name="code" value="{CODE}"><input type="hidden" name="state" value="s1"></form>
<script>document.forms[0].submit()</script>"""
PASSWORD = entra(
    "ConvergedSignIn",
    """<form onsubmit="event.preventDefault(); location = '/submitted'">
<input type="password" name="passwd" id="i0118"><input type="submit" id="idSIButton9" value="Sign in"></form>
<a id="idA_PWD_SwitchToCredPicker" href="#" onclick="document.getElementById('tiles').hidden = false;
this.hidden = true; document.getElementById('i0118').hidden = true; return false">Other ways to sign in</a>
<div id="tiles" hidden>
<div role="button" onclick="location = '/kmsi'">Face, fingerprint, PIN, or security key</div>
<div role="button">Use my password</div></div>""",
    **SIGNIN,
)


async def _sign_in(site: Any, browser: Any, start: str, **kw: Any) -> tuple[Any, list[str]]:
    from drill.browser.recording import Recorder
    from drill.browser.signin import sign_in
    from drill.browser.ui_profile import UiProfile

    names: list[str] = []
    recorder = Recorder(lambda name, png: names.append(name) or f"shots/{name}.png")
    async with browser.session() as session:
        outcome = await sign_in(
            session.context,
            site.url("rp.test", start),
            REDIRECT,
            "ea01@contoso.onmicrosoft.com",
            UiProfile(),
            recorder,
            20,
            **kw,
        )
        assert (
            all(page.url == "about:blank" for page in session.context.pages) or outcome.redirect_url is None
        )
    return outcome, names


def _no_code_left(site: Any, outcome: Any, names: list[str]) -> None:
    assert not [r for r in site.requests if r.startswith("other.test")]  # the app's host never saw it
    assert CODE not in repr(outcome)
    assert CODE not in str(outcome.evidence())
    assert all(CODE not in n for n in names)


@pytest.mark.parametrize(
    "no_target",
    [
        f"/302?to={REDIRECT}%3Fcode%3D{CODE}%26state%3Ds1",  # HTTP redirect: what Entra sends
        f"{REDIRECT}?code={CODE}&state=s1",  # a script navigation straight to the app
        "/formpost",  # response_mode=form_post
    ],
)
def test_walks_username_and_kmsi_and_traps_the_code(site: Any, site_browser: Any, no_target: str) -> None:
    site.requests.clear()
    site.pages["/authorize"] = USERNAME
    site.pages["/kmsi"] = KMSI.replace("{no}", no_target)
    site.pages["/formpost"] = FORM_POST
    outcome, names = site_browser.run(_sign_in(site, site_browser, "/authorize"))
    assert outcome.ok, outcome.reason
    assert [p.kind for p in outcome.pages][:2] == ["username", "kmsi"]
    assert f"code={CODE}" in outcome.redirect_url
    assert "state=s1" in outcome.redirect_url
    assert "rp.test /kmsi?u=ea01%40contoso.onmicrosoft.com" in site.requests  # the name was typed, then Next
    assert "rp.test /yes" not in site.requests  # "No", never the submit button
    assert names[:2] == ["signin-01-username", "signin-02-kmsi"]
    _no_code_left(site, outcome, names)


def test_error_page_fails_with_code_meaning_and_correlation(site: Any, site_browser: Any) -> None:
    site.pages["/err"] = ERROR
    outcome, names = site_browser.run(_sign_in(site, site_browser, "/err"))
    assert not outcome.ok
    assert (outcome.page, outcome.error_code) == ("ConvergedError", 53003)
    assert outcome.error_meaning is not None
    assert outcome.error_meaning.startswith("BlockedByConditionalAccess")
    assert outcome.correlation_id == "11111111-2222-3333-4444-555555555555"
    assert "11111111-2222-3333-4444-555555555555" in outcome.reason
    assert outcome.sequence() == [
        {
            "pgid": "ConvergedError",
            "view": "error",
            "host": "rp.test",
            "path": "/err",
            "error_codes": ["53003"],
        }
    ]
    assert names == ["signin-01-error"]


def test_interrupt_by_wording_without_pgid_is_a_failure(site: Any, site_browser: Any) -> None:
    site.pages["/trying"] = (
        "<!doctype html><title>Sign in</title><h1>Are you trying to sign in to Contoso?</h1>"
    )
    outcome, _ = site_browser.run(_sign_in(site, site_browser, "/trying"))
    assert not outcome.ok
    assert (outcome.page, outcome.error_code) == ("CmsiInterrupt", 50199)


def test_unknown_page_fails_with_title_url_screenshot_and_summary(site: Any, site_browser: Any) -> None:
    site.pages["/odd"] = "<!doctype html><title>Something new</title><p>Microsoft changed the page</p>"
    started = time.monotonic()
    outcome, _names = site_browser.run(_sign_in(site, site_browser, "/odd?login_hint=x", unknown_grace_s=1.0))
    assert time.monotonic() - started < 10
    assert not outcome.ok
    assert "unrecognised page 'Something new'" in outcome.reason
    assert "at https://rp.test/odd" in outcome.reason
    assert outcome.pages[0].screenshot == "shots/signin-01-unknown.png"
    assert "login_hint" not in outcome.pages[0].url
    assert outcome.config_summary["pgid"] is None


def test_unknown_pgid_fails_at_once_naming_it(site: Any, site_browser: Any) -> None:
    site.pages["/new"] = entra(
        "ConvergedBrandNew", "<p>new</p>", correlationId="11111111-2222-3333-4444-555555555555"
    )
    outcome, _ = site_browser.run(_sign_in(site, site_browser, "/new", unknown_grace_s=1.0))
    assert not outcome.ok
    assert outcome.page == "ConvergedBrandNew"
    assert "unrecognised page ConvergedBrandNew" in outcome.reason
    assert outcome.correlation_id == "11111111-2222-3333-4444-555555555555"


def test_error_redirect_back_to_the_app_fails_with_the_code(site: Any, site_browser: Any) -> None:
    site.requests.clear()
    target = f"{REDIRECT}%3Ferror%3Daccess_denied%26error_description%3DAADSTS50057%253A%2Bdisabled"
    site.pages["/authorize"] = USERNAME
    site.pages["/kmsi"] = KMSI.replace("{no}", f"/302?to={target}")
    outcome, _ = site_browser.run(_sign_in(site, site_browser, "/authorize"))
    assert not outcome.ok
    assert outcome.error_code == 50057
    assert outcome.reason.startswith("the identity platform returned access_denied: AADSTS50057")
    assert not [r for r in site.requests if r.startswith("other.test")]


def test_password_view_goes_to_other_ways_and_the_key_tile_never_typing_a_password(
    site: Any, site_browser: Any
) -> None:
    site.requests.clear()
    site.pages["/choose"] = PASSWORD
    site.pages["/kmsi"] = KMSI.replace("{no}", f"/302?to={REDIRECT}%3Fcode%3D{CODE}")
    outcome, _ = site_browser.run(_sign_in(site, site_browser, "/choose"))
    assert outcome.ok, outcome.reason
    assert [p.kind for p in outcome.pages][:3] == ["password", "picker", "kmsi"]
    assert "rp.test /submitted" not in site.requests


def test_password_only_fails_without_submitting_it(site: Any, site_browser: Any) -> None:
    site.requests.clear()
    site.pages["/pw"] = entra(
        "ConvergedSignIn",
        """<form onsubmit="event.preventDefault(); location = '/submitted'"><input type="password" id="i0118">
<input type="submit" id="idSIButton9" value="Sign in"></form>""",
        **SIGNIN,
    )
    outcome, _ = site_browser.run(_sign_in(site, site_browser, "/pw", unknown_grace_s=1.0))
    assert not outcome.ok
    assert "asks for a password" in outcome.reason
    assert "rp.test /submitted" not in site.requests


def test_a_hidden_body_is_not_read_through_its_scripts(site: Any, site_browser: Any) -> None:
    """Pages hide their body until their scripts load (the FIDO page does): innerText of a body that is not
    rendered is its textContent, scripts included, so the failure text inside a script once read as shown
    and failed a healthy drill at random under load. The driver reads no text until the body is rendered."""
    from drill.browser.signin import _DETECT
    from drill.browser.ui_profile import UiProfile

    failure = UiProfile().texts["fido_failed"]
    site.pages["/hidden"] = (
        "<!doctype html><html><head><title>Sign in to your account</title></head>"
        '<body style="display:none"><div id="loginHeader">Sign in</div>'
        f'<script>function failed() {{ document.getElementById("loginHeader").textContent = "{failure}"; }}'
        "</script></body></html>"
    )

    async def detect() -> tuple[list[str], list[str]]:
        profile = UiProfile()
        args = [dict(profile.selectors), dict(profile.texts)]
        async with site_browser.session() as session:
            page = await session.context.new_page()
            await page.goto(site.url("rp.test", "/hidden"))
            hidden = (await page.evaluate(_DETECT, args))["texts"]
            await page.evaluate("() => { document.body.style.display = ''; failed(); }")
            shown = (await page.evaluate(_DETECT, args))["texts"]
        return hidden, shown

    hidden, shown = site_browser.run(detect())
    assert "fido_failed" not in hidden
    assert "fido_failed" in shown  # once shown, the same text is read


def test_a_screenshot_that_gets_no_frame_is_noted_and_skipped(site: Any, site_browser: Any) -> None:
    """A page that gives no frame (here its script holds the renderer for 8 s; in drills, now and then, a page
    caught mid-navigation) must not hold the sign-in: Playwright's default would wait 30 s for it. The page
    is recorded without a screenshot, and a note says why."""
    from drill.browser.recording import Recorder
    from drill.browser.redirect_trap import RedirectTrap
    from drill.browser.signin import SCREENSHOT_TIMEOUT_S, _Driver
    from drill.browser.ui_profile import UiProfile

    assert SCREENSHOT_TIMEOUT_S < 8
    site.pages["/busy"] = entra(
        "ConvergedSignIn",
        "<p>busy</p><script>setTimeout(() => { const t = Date.now(); while (Date.now() - t < 8000) {} }, 200)"
        "</script>",
    )
    names: list[str] = []
    recorder = Recorder(lambda name, png: names.append(name) or f"shots/{name}.png")

    async def snap_busy() -> Any:
        async with site_browser.session() as session:
            page = await session.context.new_page()
            await page.goto(site.url("rp.test", "/busy"))
            await page.wait_for_timeout(500)  # the script now holds the renderer
            driver = _Driver(session.context, RedirectTrap(REDIRECT), "ea01@contoso.onmicrosoft.com",
                             UiProfile(), recorder, 20, 5, None)  # fmt: skip
            driver.page = page
            await driver.snap("signin", {"title": "Sign in to your account", "url": page.url})
            return driver.outcome.pages

    pages = site_browser.run(snap_busy())
    assert [p.screenshot for p in pages] == [None]
    assert names == []
    assert [n["kind"] for n in recorder.notes] == ["screenshot"]
    assert "no screenshot of the signin page" in recorder.notes[0]["text"]
