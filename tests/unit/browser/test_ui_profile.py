"""The UI profile (overrides, wording fallbacks), page classification, the AADSTS table, and redaction of
what the recorder keeps."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from drill.browser.recording import Recorder, bare, safe_name
from drill.browser.redirect_trap import _fetch_pattern, _same_endpoint
from drill.browser.signin import _error_code, classify
from drill.browser.ui_profile import (
    DEFAULT_SELECTORS,
    DEFAULT_TEXTS,
    INTERSTITIALS,
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
    assert profile["username_input"] == "input[name=loginfmt]"
    assert profile["next_button"] == "#idSIButton9"
    assert profile["kmsi_no"] == "#idBtn_Back"  # never "the submit button", which is Yes
    assert profile["error_message"] == "#service_exception_message"


def test_overrides_replace_selectors_and_texts_and_change_the_version() -> None:
    profile = UiProfile().with_overrides({"kmsi_no": "button#no", "text.kmsi_title": "Angemeldet bleiben?"})
    assert profile["kmsi_no"] == "button#no"
    assert profile.texts["kmsi_title"] == "Angemeldet bleiben?"
    assert profile["next_button"] == DEFAULT_SELECTORS["next_button"]
    assert profile.version == f"{PROFILE_VERSION}+overrides(kmsi_no,text.kmsi_title)"
    assert UiProfile().with_overrides({}) == UiProfile()


@pytest.mark.parametrize("overrides", [{"kmsi-no": "#x"}, {"text.nope": "x"}, {"kmsi_no": " "}])
def test_bad_overrides_are_user_errors(overrides: dict[str, str]) -> None:
    with pytest.raises(DrillUserError, match=r"browser\.ui_profile"):
        UiProfile().with_overrides(overrides)


def test_every_interstitial_has_an_id_or_a_wording() -> None:
    for kind in INTERSTITIALS:
        assert kind in DEFAULT_SELECTORS or kind in DEFAULT_TEXTS


@pytest.mark.parametrize(
    ("state", "kind"),
    [
        ({"kinds": ["username_input"]}, "username"),
        ({"kinds": ["username_input", "fido_tile"]}, "picker"),
        ({"kinds": ["use_security_key"]}, "password"),
        ({"kinds": ["fido_in_progress"]}, "fido"),
        ({"kinds": ["kmsi_title", "kmsi_no"]}, "kmsi"),
        ({"kinds": [], "byText": ["kmsi_title"]}, "kmsi"),
        ({"kinds": [], "byText": ["are_you_trying"]}, "are_you_trying"),
        ({"kinds": ["proof_up"]}, "proof_up"),
        ({"kinds": ["account_picker", "username_input"]}, "account_picker"),
        ({"kinds": ["error_message"], "errorCode": 53003}, "error"),
        ({"kinds": [], "errorCode": "50057"}, "error"),
        ({"kinds": ["auth_strength"]}, "auth_strength"),
        ({"kinds": []}, "unknown"),
    ],
)
def test_classify(state: dict[str, object], kind: str) -> None:
    assert classify(state) == kind


def test_error_code_from_config_or_text() -> None:
    assert _error_code({"errorCode": "53003"}) == 53003
    assert _error_code({"errorText": "AADSTS50057: The user account is disabled."}) == 50057
    assert _error_code({"shownError": "AADSTS530035: blocked"}) == 530035
    assert _error_code({"shownError": "something else"}) is None


def test_aadsts_table_matches_the_reference_and_keeps_its_sources() -> None:
    with OURS.open(encoding="utf-8", newline="") as fh:
        ours = list(csv.DictReader(fh))
    assert all(row["source"] for row in ours)  # attribution on every row
    if REFERENCE.exists():
        with REFERENCE.open(encoding="utf-8", newline="") as fh:
            reference = {row["code"]: row["message"] for row in csv.DictReader(fh)}
        assert {row["code"]: row["message"] for row in ours} == reference


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
