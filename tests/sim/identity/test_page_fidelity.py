"""Fidelity: every page the simulator serves carries only `$Config` keys and element ids that the reference
(shared/reference/entra-signin-pages.md) names, so nothing invented (fAutoFido, #fidoTitle, ...) creeps back.

The allow-list lives next to this test (reference_allowlist.json), generated from the reference by
identity_support.build_allowlist; when the reference is present, the test also checks the list is current.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
import requests
from identity_support import ALLOWLIST, REFERENCE_PAGES, Pages, build_allowlist, page_config

from drill.sim.faults import apply_fault
from drill.sim.server import SimServer

ALLOWED = json.loads(ALLOWLIST.read_text(encoding="utf-8"))


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids += [v for k, v in attrs if k == "id" and v]


def strays(html: str) -> tuple[set[str], set[str]]:
    """($Config keys, element ids) of a page that the reference does not list."""
    parser = _Ids()
    parser.feed(html)
    ids = set(parser.ids) | set(re.findall(r"\.id\s*=\s*[\"']([^\"']+)", html))  # ids set by script too
    keys = set(page_config(html)) if "$Config=" in html else set()
    return keys - set(ALLOWED["config_keys"]), ids - set(ALLOWED["element_ids"])


def test_allowlist_is_generated_from_the_reference() -> None:
    assert "entra-signin-pages.md" in ALLOWED["source"]
    if not REFERENCE_PAGES.exists():
        pytest.skip("the shared reference is not on this machine; the stored list stands")
    assert build_allowlist(REFERENCE_PAGES.read_text(encoding="utf-8")) == ALLOWED, (
        "the reference changed: run `python tests/sim/identity/identity_support.py`"
    )


def test_the_check_catches_invented_keys_and_ids() -> None:
    planted = (
        '<script>//<![CDATA[\n$Config={"pgid":"ConvergedSignIn","fAutoFido":true};\n//]]></script>'
        '<div id="fidoTitle"></div><div id="service_exception_message"></div><div id="i0116"></div>'
    )
    assert strays(planted) == ({"fAutoFido"}, {"fidoTitle", "service_exception_message"})


def _every_page(sim: SimServer, pages: Pages, http: requests.Session, key: Any) -> dict[str, str]:
    from test_signin_pages import authorize_url

    seen: dict[str, str] = {}
    first = pages.get(authorize_url(sim))
    seen["signin-username"] = first.text
    hinted = pages.get(authorize_url(sim, login_hint="ea01@contoso.onmicrosoft.com"))
    seen["signin-hinted"] = hinted.text
    config = page_config(hinted.text)
    seen["fido-get"] = pages.fido_post(config).text
    seen["reprocess"] = pages.get(config["urlRefresh"]).text
    seen["signedout"] = pages.get(
        f"https://login.microsoftonline.test/{sim.state.tenant.id}/oauth2/v2.0/logout"
    ).text
    wrong = pages.post(
        f"https://login.microsoftonline.test{config['urlPost']}",
        {"type": "11", "loginfmt": "ea01@contoso.onmicrosoft.com", "passwd": "x", "flowToken": config["sFT"],
         "ctx": config["sCtx"], "canary": config["canary"]},
    )  # fmt: skip
    seen["signin-50126"] = wrong.text
    run = pages.sign_in("ea01@contoso.onmicrosoft.com", key)
    seen["kmsi"] = run.pages[-1].text
    for interrupt in ("cmsi", "proofUp", "mfaRegistrationNag", "mfa"):
        sim.state.tenant.signInExperience = {"interrupt": interrupt}
        final = pages.sign_in("ea01@contoso.onmicrosoft.com", key).final
        assert final is not None
        seen[interrupt] = final.text
    sim.state.tenant.signInExperience = {}
    apply_fault(sim.state, "drill-app-unconsented")  # the consent prompt (issue 23): after CA and the rest
    final = pages.sign_in("ea01@contoso.onmicrosoft.com", key).final
    assert final is not None
    seen["consent"] = final.text
    for fault in ("auth-strength-aaguid-unmet", "ca-block", "account-disabled"):
        apply_fault(sim.state, fault)
        final = pages.sign_in("ea01@contoso.onmicrosoft.com", key).final
        assert final is not None
        seen[fault] = final.text
    return seen


def test_every_simulator_page_uses_only_reference_keys_and_ids(
    registered: SimServer, pages: Pages, http: requests.Session, authenticator: Any
) -> None:
    seen = _every_page(registered, pages, http, authenticator(0))
    pgids = {name: page_config(html).get("pgid") for name, html in seen.items()}
    assert pgids["kmsi"] == "KmsiInterrupt"
    assert pgids["cmsi"] == "CmsiInterrupt"
    assert pgids["mfa"] == "ConvergedTFA"
    assert pgids["proofUp"] == pgids["mfaRegistrationNag"] == "ConvergedProofUpRedirect"
    assert pgids["ca-block"] == "ConvergedError"
    assert pgids["consent"] is None  # its pgid is unknown (PAGES.md): none is invented
    assert "Permissions requested" in seen["consent"]
    assert pgids["account-disabled"] == "ConvergedSignIn"
    problems = {name: strays(html) for name, html in seen.items()}
    assert {name: found for name, found in problems.items() if found != (set(), set())} == {}
    for name, html in seen.items():  # Entra's exact $Config shape, which tools parse with a regex
        assert re.search(r"//<!\[CDATA\[\n\$Config=\{[^\n]+\};\n//\]\]></script>", html), name
        if pgids[name]:
            assert f'<meta name="PageID" content="{pgids[name]}">' in html, name
