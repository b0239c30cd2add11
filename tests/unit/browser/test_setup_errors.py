"""Setup failures name the administrator's fix, filled with what the sign-in asked for."""

from __future__ import annotations

import pytest

from drill.browser.setup_errors import SETUP_CODES, AppRequest, setup_fix
from drill.browser.ui_profile import aadsts_meaning

URL = (
    "https://login.microsoftonline.test/11111111-2222-4333-8444-555555555555/oauth2/v2.0/authorize"
    "?client_id=2b7e1c4d-9f3a-4e5b-8c6d-0a1b2c3d4e01&response_type=code"
    "&redirect_uri=https%3A%2F%2Flogin.microsoftonline.test%2Fcommon%2Foauth2%2Fnativeclient"
    "&scope=https%3A%2F%2Fgraph.microsoft.com%2FUser.Read+Group.ReadWrite.All+openid+offline_access"
)
REQ = AppRequest.from_authorize_url(URL)


def test_the_request_is_read_back_from_the_authorize_url() -> None:
    assert REQ.client_id == "2b7e1c4d-9f3a-4e5b-8c6d-0a1b2c3d4e01"
    assert REQ.tenant == "11111111-2222-4333-8444-555555555555"
    assert REQ.redirect_uri == "https://login.microsoftonline.test/common/oauth2/nativeclient"
    assert REQ.scopes == ("https://graph.microsoft.com/User.Read", "Group.ReadWrite.All")


@pytest.mark.parametrize(
    ("key", "says"),
    [
        (50011, "register the redirect URI 'https://login.microsoftonline.test/common/oauth2/nativeclient'"),
        (700016, "is not registered in tenant 11111111-2222-4333-8444-555555555555"),
        (7000218, "'Allow public client flows' to Yes"),
        (65001, "Grant admin consent for <tenant>"),
        ("consent", "never accepts the prompt"),
        (90094, "may not consent itself"),
        ("admin_approval", "may not consent itself"),
        (50105, "Users and groups > Add user/group"),
    ],
)
def test_each_setup_failure_names_its_fix(key: int | str, says: str) -> None:
    fix = setup_fix(key, REQ)
    assert fix is not None
    assert says in fix
    if key in (65001, "consent", 90094):
        assert "User.Read, Group.ReadWrite.All" in fix  # the permissions to grant, by name
        assert "adminconsent?client_id=2b7e1c4d-9f3a-4e5b-8c6d-0a1b2c3d4e01" in fix


def test_other_codes_are_not_setup_failures() -> None:
    assert setup_fix(53003, REQ) is None
    assert setup_fix(None, REQ) is None


@pytest.mark.parametrize("code", sorted(SETUP_CODES))
def test_every_setup_code_has_microsofts_meaning(code: int) -> None:
    assert "not in our table" not in aadsts_meaning(code)


def test_a_setup_error_redirected_back_to_the_app_names_its_fix() -> None:
    """Entra may hand 50105 or 65001 back to the redirect URI (error=...) instead of its error page."""
    from drill.browser.recording import Recorder
    from drill.browser.redirect_trap import RedirectTrap
    from drill.browser.signin import _Driver
    from drill.browser.ui_profile import UiProfile

    trap = RedirectTrap(REQ.redirect_uri)
    driver = _Driver(None, trap, "ea01@contoso.test", UiProfile(), Recorder(), 60, 8, None)
    driver.request = REQ
    outcome = driver.redirected(
        f"{REQ.redirect_uri}?error=access_denied&error_description=AADSTS50105%3A+Your+administrator+has+"
        "configured+the+application+to+block+users+unless+they+are+specifically+granted+access."
    )
    assert not outcome.ok
    assert outcome.error_code == 50105
    assert outcome.fix is not None
    assert "Users and groups > Add user/group" in outcome.reason
