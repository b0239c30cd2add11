"""Identity test kit: demo software keys (real CTAP through python-fido2), registration, and a page driver.

`Pages` plays the browser over real HTTPS: it sends each request to the simulator's loopback port with the
browser host name in the Host header (what Chromium's resolver rules achieve), reads `$Config` from each
page, and answers the WebAuthn step with a software key at the FIDO host's origin. Browser tests with
Chromium are separate (test_browser_signin.py) and few.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msal
import pytest
import requests

from drill.sim.server import SimServer

PIN = "482916"
FIDO_ORIGIN = "https://login.microsoft.test"
RELATED = {"login.microsoft.test": ["https://login.microsoftonline.test"]}
EA01 = "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a01"
EA02 = "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a02"
ALICE = "7d3e9c1a-2b4f-4c6d-8e0f-1a2b3c4d5e01"
DRILL_APP = "2b7e1c4d-9f3a-4e5b-8c6d-0a1b2c3d4e01"
REDIRECT = "https://login.microsoftonline.test/common/oauth2/nativeclient"
SCOPES = ["User.Read", "RoleManagement.Read.Directory"]
_CONFIG = re.compile(r"\$Config=(\{.+\});")  # Entra's one-line literal, as tools read it (NM's regex)


def page_config(html: str) -> dict[str, Any]:
    match = _CONFIG.search(html)
    assert match, "page has no $Config"
    return dict(json.loads(match.group(1)))


@pytest.fixture(scope="session")
def key_paths(tmp_path_factory: pytest.TempPathFactory, vendor_dir: Path) -> list[Path]:
    """Master copies of the two demo keys (vendor A, vendor B), made once; tests copy them."""
    from drill.keys.software import create_demo_keys

    return create_demo_keys(tmp_path_factory.mktemp("keys"), vendor_dir, PIN)


@pytest.fixture
def authenticator(key_paths: list[Path], tmp_path: Path) -> Callable[[int], Any]:
    """authenticator(0) -> vendor A key, authenticator(1) -> vendor B, fresh copies per test."""
    from drill.keys.prompts import ScriptedPrompts
    from drill.keys.software import open_software_authenticator

    opened: dict[int, Any] = {}

    def get(index: int = 0) -> Any:
        if index not in opened:
            copy = tmp_path / f"key{index}.json"
            copy.write_bytes(key_paths[index].read_bytes())
            opened[index] = open_software_authenticator(copy, ScriptedPrompts.always(PIN), RELATED)
        return opened[index]

    return get


def register(
    sim: SimServer, http: requests.Session, user_id: str, key: Any, **extra: Any
) -> requests.Response:
    begin = http.post(f"{sim.base_url}/_sim/passkeys/register/begin", json={"userId": user_id})
    begin.raise_for_status()
    body = begin.json()
    response = key.make_credential(body["options"], FIDO_ORIGIN, threading.Event())
    return http.post(
        f"{sim.base_url}/_sim/passkeys/register/complete",
        json={
            "registrationId": body["registrationId"],
            "response": response,
            "displayName": "Demo key",
            **extra,
        },
    )


@pytest.fixture
def registered(sim: SimServer, http: requests.Session, authenticator: Callable[[int], Any]) -> SimServer:
    """The demo tenant with ea01 holding vendor A's key and ea02 vendor B's."""
    for index, user in enumerate((EA01, EA02)):
        reply = register(sim, http, user, authenticator(index))
        assert reply.status_code == 200, reply.text
    return sim


@dataclass
class Pages:
    sim: SimServer
    http: requests.Session
    history: list[requests.Response] = field(default_factory=list)

    def _send(self, method: str, url: str, **kw: Any) -> requests.Response:
        parts = urlsplit(url)
        local = f"{self.sim.base_url}{parts.path}" + (f"?{parts.query}" if parts.query else "")
        reply = self.http.request(
            method, local, headers={"Host": parts.hostname or ""}, allow_redirects=False, **kw
        )
        self.history.append(reply)
        return reply

    def get(self, url: str) -> requests.Response:
        return self._send("GET", url)

    def post(self, url: str, data: dict[str, str]) -> requests.Response:
        return self._send("POST", url, data=data)

    def app(self) -> msal.PublicClientApplication:
        return msal.PublicClientApplication(
            DRILL_APP,
            authority=f"{self.sim.base_url}/{self.sim.state.tenant.id}",
            instance_discovery=False,
            http_client=self.http,
            token_cache=msal.TokenCache(),
        )

    def fido_post(self, config: dict[str, Any]) -> requests.Response:
        """What the converged page's FIDO view posts (top-level form) to urlFidoLogin."""
        cred = config.get("oGetCredTypeResult") or {}
        allow = ((cred.get("Credentials") or {}).get("FidoParams") or {}).get("AllowList") or []
        return self.post(
            config["urlFidoLogin"],
            {
                "allowedIdentities": "2",
                "canary": config["sFT"],
                "serverChallenge": config["sFT"],
                "postBackUrl": config["urlPostAad"],
                "postBackUrlAad": config["urlPostAad"],
                "postBackUrlMsa": config["urlPostMsa"],
                "cancelUrl": config["urlRefresh"],
                "resumeUrl": config["urlResume"],
                "correlationId": config["correlationId"],
                "credentialsJson": ",".join(allow),
                "ctx": config["sCtx"],
                "username": cred.get("Username", ""),
                "loginCanary": config["canary"],
            },
        )

    @staticmethod
    def options(fconfig: dict[str, Any]) -> dict[str, Any]:
        """The fido/get page's navigator.credentials.get options, as its script builds them."""
        import base64

        challenge = base64.urlsafe_b64encode(fconfig["sFidoChallenge"].encode()).rstrip(b"=").decode()
        allow = [{"type": "public-key", "id": c} for c in fconfig.get("arrFidoAllowList") or []]
        return {"publicKey": {"challenge": challenge, "rpId": "login.microsoft.test",
                              "allowCredentials": allow, "userVerification": "required"}}  # fmt: skip

    def assertion_post(self, fconfig: dict[str, Any], assertion: str) -> requests.Response:
        """The fido/get page's post-back to urlPost (type=23, ps=23, lmcCanary, ctx, canary, flowToken)."""
        return self.post(
            fconfig["urlPost"],
            {
                "type": "23",
                "ps": "23",
                "assertion": assertion,
                "lmcCanary": fconfig["sCrossDomainCanary"],
                "hpgrequestid": fconfig["sessionId"],
                "ctx": fconfig["sCtx"],
                "canary": fconfig["canary"],
                "flowToken": fconfig["sFT"],
            },
        )

    def sign_in(self, login_hint: str, key: Any, *, kmsi: bool = False) -> SignInRun:
        """Run the whole browser leg as far as it goes; `run.final` is the last page or the redirect."""
        app = self.app()
        flow = app.initiate_auth_code_flow(
            SCOPES, redirect_uri=REDIRECT, login_hint=login_hint, prompt="login"
        )
        run = SignInRun(app=app, flow=flow)
        page = self.get(flow["auth_uri"])
        run.pages.append(page)
        config = page_config(page.text)
        prefers = ((config.get("oGetCredTypeResult") or {}).get("Credentials") or {}).get("PrefCredential")
        if not config.get("urlFidoLogin") or prefers != 7:
            run.final = page
            return run
        fido = self.fido_post(config)
        run.pages.append(fido)
        fconfig = page_config(fido.text)
        if "sFidoChallenge" not in fconfig:
            run.final = fido
            return run
        options = self.options(fconfig)
        run.options = options
        try:
            assertion = json.dumps(key.get_assertion(options, FIDO_ORIGIN, threading.Event()))
        except Exception:  # the page shows "We couldn't sign you in" and posts nothing
            run.final = fido
            return run
        after = self.assertion_post(fconfig, assertion)
        run.pages.append(after)
        if after.status_code != 200 or page_config(after.text).get("pgid") != "KmsiInterrupt":
            run.final = after
            return run
        kconfig = page_config(after.text)
        redirect = self.post(
            kconfig["urlPost"],
            {
                "type": "28",
                "LoginOptions": "1" if kmsi else "3",
                "ctx": kconfig["sCtx"],
                "flowToken": kconfig["sFT"],
                "canary": kconfig["canary"],
                "hpgrequestid": kconfig["sessionId"],
            },
        )
        run.final = redirect
        return run


@dataclass
class SignInRun:
    app: msal.PublicClientApplication
    flow: dict[str, Any]
    pages: list[requests.Response] = field(default_factory=list)
    final: requests.Response | None = None
    options: dict[str, Any] | None = None

    @property
    def redirect_query(self) -> dict[str, str]:
        assert self.final is not None
        assert self.final.status_code == 302, self.final.text
        return {k: v[0] for k, v in parse_qs(urlsplit(self.final.headers["location"]).query).items()}

    def redeem(self) -> dict[str, Any]:
        return dict(self.app.acquire_token_by_auth_code_flow(self.flow, self.redirect_query))


@pytest.fixture
def pages(sim: SimServer, http: requests.Session) -> Pages:
    return Pages(sim, http)


# -- the fidelity allow-list -----------------------------------------------------------------------------
REFERENCE_PAGES = Path("/work/shared/reference/entra-signin-pages.md")
ALLOWLIST = Path(__file__).with_name("reference_allowlist.json")


def build_allowlist(reference: str) -> dict[str, Any]:
    """The `$Config` keys and element ids the reference names: section 3's key table (first column), the
    backticked $Config-style names in sections 1 to 4, every `#id` and every aria-describedby target."""
    _, _, rest = reference.partition("## 1. Flow overview")
    body = rest.split("## 5. Interrupts and errors")[0]
    keys: set[str] = set()
    section3 = body.split("## 3. $Config keys that matter", 1)[1].split("## 4.", 1)[0]
    for line in section3.splitlines():
        if line.startswith("| ") and not line.startswith(("| key", "|---")):
            first = re.sub(r"\([^)]*\)", "", line.split("|")[1])
            keys |= set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", first))
    # Backticked names elsewhere count when they have $Config's naming (sX, iX, fX, arrX, urlX, strX, oX);
    # the others are form fields or URL parts (ps, ctx, loginfmt, login_hint), not $Config keys.
    named = re.compile(r"^(s|i|f|arr|url|str|o)[A-Z]")
    keys |= {t for t in re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", body) if named.match(t)}
    ids = set(re.findall(r"#([A-Za-z_][A-Za-z0-9_-]*)", rest))
    for targets in re.findall(r"aria-describedby ([A-Za-z_][A-Za-z0-9_ ]*)", rest):
        ids |= set(targets.split())
    return {
        "source": "shared/reference/entra-signin-pages.md (sections 1-4: key table, backticked names, #ids, "
        "aria-describedby targets); regenerate with `python tests/sim/identity/identity_support.py`",
        "sha256": __import__("hashlib").sha256(reference.encode()).hexdigest(),
        "config_keys": sorted(keys),
        "element_ids": sorted(ids),
    }


if __name__ == "__main__":
    built = build_allowlist(REFERENCE_PAGES.read_text(encoding="utf-8"))
    ALLOWLIST.write_text(json.dumps(built, indent=1) + "\n")
    print(f"wrote {ALLOWLIST}")
