"""The sign-in driver on small Entra-shaped pages served over HTTPS: it fills the name, answers "Stay
signed in?" with No, catches the code in the browser (302, script navigation and form_post alike) so it
never reaches the app's host, and fails with a reason on an error page, an interstitial or an odd page.
"""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("chromium") is None, reason="needs chromium")]

REDIRECT = "https://other.test/cb"
CODE = "0.AAAAsecretcode123"
USERNAME = """<!doctype html><title>Sign in to your account</title>
<form onsubmit="event.preventDefault(); location = '/kmsi?u=' + encodeURIComponent(this.loginfmt.value)">
<input type="email" name="loginfmt" id="i0116"><input type="password" name="passwd" class="moveOffScreen">
<input type="submit" id="idSIButton9" value="Next"></form>"""
KMSI = """<!doctype html><title>Sign in to your account</title><div id="kmsiTitle">Stay signed in?</div>
<input type="button" id="idBtn_Back" value="No" onclick="location = '{no}'">
<input type="submit" id="idSIButton9" value="Yes" onclick="location = '/yes'">"""
ERROR = """<!doctype html><title>Sign in to your account</title><script>var $Config={"iErrorCode":53003,
"strServiceExceptionMessage":"AADSTS53003: Access has been blocked by Conditional Access policies.",
"correlationId":"11111111-2222-3333-4444-555555555555"};</script>
<div id="service_exception_message">You cannot access this right now</div>"""
FORM_POST = f"""<!doctype html><title>Working...</title><form method="post" action="{REDIRECT}">
<input type="hidden" name="code" value="{CODE}"><input type="hidden" name="state" value="s1"></form>
<script>document.forms[0].submit()</script>"""


async def _sign_in(site: Any, start: str, **kw: Any) -> tuple[Any, list[str]]:
    from drill.browser.launch import chromium
    from drill.browser.recording import Recorder
    from drill.browser.signin import sign_in
    from drill.browser.ui_profile import UiProfile

    names: list[str] = []
    recorder = Recorder(lambda name, png: names.append(name) or f"shots/{name}.png")
    async with chromium(extra_args=site.chromium_args) as session:
        outcome = await sign_in(
            session.context,
            site.url("rp.test", start),
            REDIRECT,
            "ea01@contoso.test",
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
def test_walks_username_and_kmsi_and_traps_the_code(site: Any, no_target: str) -> None:
    site.requests.clear()
    site.pages["/authorize"] = USERNAME
    site.pages["/kmsi"] = KMSI.replace("{no}", no_target)
    site.pages["/formpost"] = FORM_POST
    outcome, names = asyncio.run(_sign_in(site, "/authorize"))
    assert outcome.ok, outcome.reason
    assert [p.kind for p in outcome.pages][:2] == ["username", "kmsi"]
    assert f"code={CODE}" in outcome.redirect_url
    assert "state=s1" in outcome.redirect_url
    assert "rp.test /kmsi?u=ea01%40contoso.test" in site.requests  # the name was typed, then Next
    assert "rp.test /yes" not in site.requests  # "No", never the submit button
    assert names[:2] == ["signin-01-username", "signin-02-kmsi"]
    _no_code_left(site, outcome, names)


def test_error_page_fails_with_code_meaning_and_correlation(site: Any) -> None:
    site.pages["/err"] = ERROR
    outcome, names = asyncio.run(_sign_in(site, "/err"))
    assert not outcome.ok
    assert outcome.error_code == 53003
    assert outcome.error_meaning is not None
    assert outcome.error_meaning.startswith("BlockedByConditionalAccess")
    assert outcome.correlation_id == "11111111-2222-3333-4444-555555555555"
    assert names == ["signin-01-error"]


def test_interstitial_by_wording_is_a_failure(site: Any) -> None:
    site.pages["/trying"] = (
        "<!doctype html><title>Sign in</title><h1>Are you trying to sign in to Contoso?</h1>"
    )
    outcome, _ = asyncio.run(_sign_in(site, "/trying"))
    assert not outcome.ok
    assert outcome.interstitial == "are_you_trying"


def test_unknown_page_fails_with_title_url_and_screenshot(site: Any) -> None:
    site.pages["/odd"] = "<!doctype html><title>Something new</title><p>Microsoft changed the page</p>"
    outcome, _names = asyncio.run(_sign_in(site, "/odd?login_hint=x", unknown_grace_s=1.0))
    assert not outcome.ok
    assert "unrecognised page 'Something new' at https://rp.test/odd " in outcome.reason
    assert outcome.pages[0].screenshot == "shots/signin-01-unknown.png"
    assert "login_hint" not in outcome.pages[0].url


def test_error_redirect_back_to_the_app_fails_with_the_code(site: Any) -> None:
    site.requests.clear()
    target = f"{REDIRECT}%3Ferror%3Daccess_denied%26error_description%3DAADSTS50057%253A%2Bdisabled"
    site.pages["/authorize"] = USERNAME
    site.pages["/kmsi"] = KMSI.replace("{no}", f"/302?to={target}")
    outcome, _ = asyncio.run(_sign_in(site, "/authorize"))
    assert not outcome.ok
    assert outcome.error_code == 50057
    assert outcome.reason.startswith("the identity platform returned access_denied: AADSTS50057")
    assert not [r for r in site.requests if r.startswith("other.test")]


@pytest.mark.parametrize(
    ("page", "kind"),
    [
        ('<a id="idA_PWD_SwitchToFido" href="/kmsi">Sign in with a security key</a>', "password"),
        (
            '<div role="button" data-test-cred-id="7" onclick="location=\'/kmsi\'">Security key</div>',
            "picker",
        ),
    ],
)
def test_takes_the_security_key_path_from_password_page_or_picker(site: Any, page: str, kind: str) -> None:
    site.requests.clear()
    site.pages["/choose"] = f"<!doctype html><title>Sign in</title>{page}"
    site.pages["/kmsi"] = KMSI.replace("{no}", f"/302?to={REDIRECT}%3Fcode%3D{CODE}")
    outcome, _ = asyncio.run(_sign_in(site, "/choose"))
    assert outcome.ok, outcome.reason
    assert [p.kind for p in outcome.pages][:2] == [kind, "kmsi"]
