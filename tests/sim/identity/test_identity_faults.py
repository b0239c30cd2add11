"""Each identity fault, applied through the control plane, and its effect at the protocol level."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from identity_support import EA01, Pages, page_config
from msal.exceptions import MsalServiceError

from drill.sim.server import SimServer


def apply(sim: SimServer, http: requests.Session, name: str) -> None:
    reply = http.post(f"{sim.base_url}/_sim/faults", json={"name": name})
    assert reply.status_code == 200, reply.text


@pytest.mark.parametrize(
    ("fault", "code", "why"),
    [
        ("account-disabled", 50057, "account disabled"),
        ("ca-block", 53003, "Conditional Access"),
        ("ca-compliant-device", 53000, "Conditional Access"),
        ("aaguid-not-allowed", 135016, "key restrictions allow only listed AAGUIDs"),
        ("attestation-enforced-unattested", 500121, "attestation is enforced"),
    ],
)
def test_fault_gives_an_error_and_a_failed_signin(
    registered: SimServer,
    http: requests.Session,
    pages: Pages,
    authenticator: Any,
    fault: str,
    code: int,
    why: str,
) -> None:
    apply(registered, http, fault)
    run = pages.sign_in("ea01@contoso.onmicrosoft.com", authenticator(0))
    assert run.final is not None
    assert run.final.status_code == 200
    config = page_config(run.final.text)
    if code in (50057, 135016):  # shown in place on the sign-in page (arrValErrs), not on an error page
        assert (config["pgid"], config["sErrorCode"], config["arrValErrs"]) == (
            "ConvergedSignIn",
            str(code),
            [str(code)],
        )
    else:
        assert (config["pgid"], config["iErrorCode"], config["sErrorCode"]) == (
            "ConvergedError",
            code,
            str(code),
        )
        assert config["strServiceExceptionMessage"].startswith(f"AADSTS{code}:")
        assert "Correlation Id" in run.final.text
    assert 'id="service_exception_message"' not in run.final.text  # seen only in a synthetic fixture
    [event] = registered.state.signins
    assert (event.user_id, event.result_type) == (EA01, str(code))
    assert why in event.extra["failureReason"]
    assert event.correlation_id == config["correlationId"]


def test_ca_block_records_the_blocking_policy(
    registered: SimServer, http: requests.Session, pages: Pages, authenticator: Any
) -> None:
    apply(registered, http, "ca-block")
    pages.sign_in("ea01@contoso.onmicrosoft.com", authenticator(0))
    [event] = registered.state.signins
    assert event.conditional_access_status == "failure"
    blocking = [p for p in event.applied_policies if p["result"] == "failure"]
    assert [p["enforcedGrantControls"] for p in blocking] == [["Block"]]
    assert blocking[0]["displayName"].startswith("CA900")


def test_passkey_deleted_stops_before_webauthn(
    registered: SimServer, http: requests.Session, pages: Pages, authenticator: Any
) -> None:
    apply(registered, http, "passkey-deleted")
    run = pages.sign_in("ea01@contoso.onmicrosoft.com", authenticator(0))
    assert run.options is None  # no ceremony was offered
    assert run.final is not None
    creds = page_config(run.final.text)["oGetCredTypeResult"]["Credentials"]
    assert (creds["PrefCredential"], creds["HasFido"]) == (1, False)  # Entra would ask for the password
    assert registered.state.signins == []  # nothing was attempted, so nothing is logged


def test_auth_strength_unmet_shows_another_method_page(
    registered: SimServer, http: requests.Session, pages: Pages, authenticator: Any
) -> None:
    apply(registered, http, "auth-strength-aaguid-unmet")
    run = pages.sign_in("ea01@contoso.onmicrosoft.com", authenticator(0))
    assert run.final is not None
    assert page_config(run.final.text)["strMainMessage"].startswith("Another sign-in method is required")
    [event] = registered.state.signins
    assert event.result_type != "0"
    assert event.extra["authenticationStrengthResult"] == "cannotSatisfyDueToCombinationConfiguration"


def test_extra_report_only_policy_changes_applied_policies_not_the_outcome(
    registered: SimServer, http: requests.Session, pages: Pages, authenticator: Any
) -> None:
    apply(registered, http, "ca-extra-policy-applies")
    run = pages.sign_in("ea01@contoso.onmicrosoft.com", authenticator(0))
    assert "access_token" in run.redeem()
    kmsi, event = registered.state.signins
    assert (kmsi.result_type, event.result_type) == ("50140", "0")
    extra = [p for p in event.applied_policies if p["displayName"].startswith("CA950")]
    assert [p["result"] for p in extra] == ["reportOnlyFailure"]


def test_token_endpoint_down(
    registered: SimServer, http: requests.Session, pages: Pages, authenticator: Any
) -> None:
    run = pages.sign_in("ea01@contoso.onmicrosoft.com", authenticator(0))
    apply(registered, http, "token-endpoint-down")
    # msal 1.39 raises on a 5xx from /token (its throttled HTTP client) instead of returning an error dict.
    with pytest.raises(MsalServiceError, match="503"):
        run.redeem()
    raw = http.post(f"{registered.base_url}/{registered.state.tenant.id}/oauth2/v2.0/token", data={})
    assert raw.status_code == 503


def test_sign_in_faults_find_the_accounts_after_a_role_fault(
    registered: SimServer, http: requests.Session
) -> None:
    apply(registered, http, "ga-removed")
    apply(registered, http, "passkey-deleted")
    assert registered.state.tenant.passkeys_of(EA01) == []
