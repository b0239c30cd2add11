"""The UI profile (overrides, wording fallbacks), page classification, the AADSTS table, and redaction of
what the recorder keeps."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from drill.browser.recording import Recorder, bare, safe_name
from drill.browser.redirect_trap import _fetch_pattern, _same_endpoint
from drill.browser.signin import classify, codes_of, config_summary
from drill.browser.ui_profile import (
    DEFAULT_SELECTORS,
    DEFAULT_TEXTS,
    INTERSTITIALS,
    PAGES,
    PROFILE_VERSION,
    UiProfile,
    aadsts_meaning,
)
from drill.errors import DrillUserError

REFERENCE = Path("/work/shared/reference/ids/aadsts_codes_breakglass.csv")
OURS = Path(__file__).resolve().parents[3] / "drill" / "browser" / "aadsts.csv"


def test_default_profile_uses_entra_ids() -> None:
    profile = UiProfile()
    assert profile.version == PROFILE_VERSION
    assert profile["username_input"] == "#i0116"
    assert profile["next_button"] == "#idSIButton9"
    assert profile["kmsi_no"] == "#idBtn_Back"  # never "the submit button", which is Yes
    assert "service_exception_message" not in str(DEFAULT_SELECTORS)  # a synthetic fixture's id, not Entra's
    assert profile.texts["fido_tile"] == "Face, fingerprint, PIN, or security key"


def test_overrides_replace_selectors_and_texts_and_change_the_version() -> None:
    profile = UiProfile().with_overrides({"kmsi_no": "button#no", "text.kmsi": "Angemeldet bleiben?"})
    assert profile["kmsi_no"] == "button#no"
    assert profile.texts["kmsi"] == "Angemeldet bleiben?"
    assert profile["next_button"] == DEFAULT_SELECTORS["next_button"]
    assert profile.version == f"{PROFILE_VERSION}+overrides(kmsi_no,text.kmsi)"
    assert UiProfile().with_overrides({}) == UiProfile()


@pytest.mark.parametrize("overrides", [{"kmsi-no": "#x"}, {"text.nope": "x"}, {"kmsi_no": " "}])
def test_bad_overrides_are_user_errors(overrides: dict[str, str]) -> None:
    with pytest.raises(DrillUserError, match=r"browser\.ui_profile"):
        UiProfile().with_overrides(overrides)


def test_every_interrupt_is_a_known_page_or_wording() -> None:
    for kind in INTERSTITIALS:
        assert kind in PAGES or kind in DEFAULT_TEXTS or kind == "mfaRegistrationNag"


SIGNIN = {"pgid": "ConvergedSignIn", "errorCodes": ["50058", "50058"], "fidoSupported": True}


@pytest.mark.parametrize(
    ("state", "kind"),
    [
        ({**SIGNIN, "usernameView": True}, "username"),
        ({**SIGNIN, "passwordView": True, "otherWays": True}, "password"),
        ({**SIGNIN, "fidoTile": True}, "picker"),
        ({**SIGNIN}, "signin_waiting"),  # the FIDO view, about to post to the ceremony page
        ({**SIGNIN, "usernameView": True, "fidoSupported": None}, "no_fido"),
        ({**SIGNIN, "errorCodes": ["50057", "50057"]}, "signin_error"),
        ({**SIGNIN, "usernameView": True, "inlineError": "This username may be incorrect."}, "signin_error"),
        ({**SIGNIN, "sessions": 1}, "account_picker"),
        (
            {"url": "https://login.microsoft.com/common/fido/get?uiflavor=Web", "fidoChallenge": True},
            "fido_ceremony",
        ),
        (
            {"url": "https://login.microsoft.com/common/fido/get", "fidoChallenge": True, "otherWays": True},
            "fido_failed",
        ),
        ({"pgid": "KmsiInterrupt"}, "kmsi"),
        ({"pgid": "CmsiInterrupt"}, "CmsiInterrupt"),
        ({"pgid": "ConvergedProofUpRedirect"}, "ConvergedProofUpRedirect"),
        ({"pgid": "ConvergedProofUpRedirect", "errorCodes": ["50203"]}, "mfaRegistrationNag"),
        ({"pgid": "ConvergedTFA"}, "ConvergedTFA"),
        ({"pgid": "ConvergedError", "errorCodes": ["53003", "53003"]}, "error"),
        ({"hasConfig": True, "errorText": "AADSTS50105: not assigned"}, "error"),
        ({"pgid": "SomethingNew"}, "unknown"),
        ({"pgid": "SomethingNew", "texts": ["consent"]}, "consent"),  # "Permissions requested", pgid unknown
        ({"texts": ["consent"]}, "consent"),
        ({"texts": ["admin_approval"]}, "admin_approval"),  # "Need admin approval"
        ({"pgid": "ConvergedError", "errorCodes": ["90094"], "texts": ["admin_approval"]}, "error"),
        ({"texts": ["kmsi"]}, "kmsi"),  # wording only where no pgid is there
        ({"texts": ["cmsi"]}, "CmsiInterrupt"),
        ({}, "unknown"),
    ],
)
def test_classify(state: dict[str, object], kind: str) -> None:
    assert classify(state) == kind


def test_codes_and_config_summary_keep_numbers_and_ids_only() -> None:
    state = {
        "pgid": "ConvergedError",
        "errorCodes": ["53003", "53003", "not a code <script>"],
        "errorText": "AADSTS530035: blocked by security defaults",
        "correlationId": "11111111-2222-3333-4444-555555555555",
        "sessionId": "secret-looking token",
    }
    assert codes_of(state) == ["53003", "530035"]
    assert config_summary(state) == {
        "pgid": "ConvergedError",
        "error_codes": ["53003", "530035"],
        "correlation_id": "11111111-2222-3333-4444-555555555555",
        "request_id": None,
        "fido_offered": False,
    }


def test_aadsts_table_matches_the_reference_and_keeps_its_sources() -> None:
    with OURS.open(encoding="utf-8", newline="") as fh:
        ours = list(csv.DictReader(fh))
    assert all(row["source"] for row in ours)  # attribution on every row
    if REFERENCE.exists():
        with REFERENCE.open(encoding="utf-8", newline="") as fh:
            reference = {row["code"]: row["message"] for row in csv.DictReader(fh)}
        mine = {row["code"]: row["message"] for row in ours}
        assert {code: mine.get(code) for code in reference} == reference
        beyond = [row for row in ours if row["code"] not in reference]  # codes the sign-in pages show
        # Each is either a belief or read, with its commit, in Microsoft's error-code reference.
        read = ("BELIEF", "reference-error-codes.md@")
        assert all(any(mark in row["source"] for mark in read) for row in beyond)


def test_aadsts_meanings() -> None:
    assert aadsts_meaning(53003).startswith("BlockedByConditionalAccess: Access has been blocked")
    assert aadsts_meaning(50057).startswith("UserDisabled:")
    assert aadsts_meaning(500121) == "Authentication failed during strong authentication request."
    assert "not in our table" in aadsts_meaning(12345)


def test_recorder_keeps_no_query_and_redacts_text() -> None:
    saved: list[str] = []
    rec = Recorder(lambda name, png: saved.append(name) or f"shots/{name}.png")
    assert rec.screenshot("signin-01-KMSI?code=abc", b"png") == "shots/signin-01-kmsi-code-abc.png"
    rec.note(
        "console", "failed https://app.test/cb?code=0.AAAA-secret-code&state=x", url="https://a.test/p?code=1"
    )
    note = rec.notes[0]
    assert note["url"] == "https://a.test/p"
    assert "secret-code" not in note["text"]
    assert "https://app.test/cb" in note["text"]
    assert bare("https://h.test/p?q=1#access_token=x") == "https://h.test/p"
    assert safe_name("../../etc") == "etc"
    assert Recorder().screenshot("x", b"") is None


def test_redirect_matching() -> None:
    uri = "https://login.microsoftonline.test/common/oauth2/nativeclient"
    assert _same_endpoint(uri + "?code=1&state=2", uri)
    assert not _same_endpoint(uri + "2?code=1", uri)
    assert not _same_endpoint("http://login.microsoftonline.test/common/oauth2/nativeclient", uri)
    assert _same_endpoint("http://localhost:8400/?code=1", "http://localhost:8400")
    assert _fetch_pattern("http://h/a?b*") == "http://h/a\\?b\\**"
