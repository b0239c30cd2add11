"""Redaction: every secret kind, by key and by value, nested, in exception text, in both outputs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from drill.logs import configure_logging, drill_context
from drill.secrets import (
    REDACTED,
    forget_secrets,
    is_secret_key,
    redact,
    redact_headers,
    redact_text,
    register_secret,
)
from drill.testing import capture_logs, scan_for_secrets

JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoIiwid2lkcyI6W119.U2lnbmF0dXJlX2J5dGVz"
ID_TOKEN = "eyJhbGciOiJub25lIn0.eyJub25jZSI6Im4ifQ."
REFRESH = "1.AXkA" + "q" * 180
AUTH_CODE = "0.AXkAbc-DEF_ghi.AgABAAIAAAD--DLA3VO7QrddgJg7WevrAgDs_wUA9P-code"
CLIENT_SECRET = "x7F8Q~Jp2.aB3cD4eF5gH6iJ7kL8mN9oP0qR1sT"
COOKIE = "ESTSAUTHPERSISTENT=0.ARoAsecretcookievalue123"
PIN = "739146"
SECRETS = [JWT, ID_TOKEN, REFRESH, AUTH_CODE, CLIENT_SECRET, "secretcookievalue123", PIN, "Passw0rd-horse"]


@pytest.fixture
def log_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Path]:
    """Logging configured for the test; depends on capsys so the console handler writes where it reads."""
    path = tmp_path / "log.jsonl"
    configure_logging(path, console=True, level="DEBUG")
    yield path
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_drill_handler", False):
            root.removeHandler(handler)
            handler.close()
    structlog.reset_defaults()
    forget_secrets()


def _fail(exc: Exception) -> None:
    raise exc


def _emit_everything() -> None:
    log = structlog.get_logger("drill.test")
    log.info(
        "token response",
        access_token=JWT,
        id_token=ID_TOKEN,
        refresh_token=REFRESH,
        token_type="Bearer",
        expires_in=3599,
    )
    log.info("redirect", url=f"https://localhost/?code={AUTH_CODE}&state=s-123&session_state=abc")
    log.info(
        "request", headers={"Authorization": f"Bearer {JWT}", "Cookie": COOKIE, "Accept": "application/json"}
    )
    log.info("response", headers={"Set-Cookie": f"{COOKIE}; path=/; secure"}, status_code=302)
    log.info(
        "observer", config={"client_secret": CLIENT_SECRET, "client_secret_env": "DRILL_OBSERVER_SECRET"}
    )
    log.info("pin entered", pin=PIN, pin_retries=7)
    log.info(
        "nested", data={"steps": [{"evidence": {"tokens": [JWT]}}, {"note": f"secret was {CLIENT_SECRET}"}]}
    )
    log.info("form", body=f"grant_type=authorization_code&code={AUTH_CODE}&client_secret={CLIENT_SECRET}")
    log.info("json body", body=json.dumps({"refresh_token": REFRESH, "password": "Passw0rd-horse"}))
    log.info(
        "graph error", error={"code": "Authorization_RequestDenied", "message": "Insufficient privileges"}
    )
    try:
        _fail(RuntimeError(f"token endpoint said no: Authorization: Bearer {JWT} code={AUTH_CODE}"))
    except RuntimeError:
        log.exception("sign-in failed")
    log.warning("as value", err=ValueError(f"refresh failed for {REFRESH}"))
    logging.getLogger("msal.token_cache").warning(
        "cache add: refresh_token=%s id_token=%s", REFRESH, ID_TOKEN
    )


def test_nothing_secret_reaches_the_json_file_or_the_console(
    log_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _emit_everything()
    text = log_file.read_text()
    console = capsys.readouterr().err
    for secret in SECRETS:
        assert secret not in text, secret
        assert secret not in console, secret
    assert scan_for_secrets([log_file], SECRETS) == []
    records = [json.loads(line) for line in text.splitlines()]
    events = {r["event"]: r for r in records}
    # what is not secret survives, so the log stays useful
    assert events["token response"]["token_type"] == "Bearer"
    assert events["token response"]["expires_in"] == 3599
    assert "state=s-123" in events["redirect"]["url"]
    assert events["request"]["headers"]["Accept"] == "application/json"
    assert events["observer"]["config"]["client_secret_env"] == "DRILL_OBSERVER_SECRET"
    assert events["pin entered"]["pin_retries"] == 7
    assert events["pin entered"]["pin"] == REDACTED
    assert events["graph error"]["error"]["code"] == "Authorization_RequestDenied"
    assert "sign-in failed" in events
    assert "RuntimeError: token endpoint said no" in events["sign-in failed"]["exception"]
    assert "Traceback" in events["sign-in failed"]["exception"]
    assert events["as value"]["err"].startswith("ValueError: refresh failed for ")
    stdlib = [r for r in records if r.get("logger") == "msal.token_cache"]
    assert stdlib
    assert REDACTED in stdlib[0]["event"]
    assert "sign-in failed" in console
    assert "RuntimeError" in console


def test_a_secret_in_a_secret_free_file_is_found_by_the_scanner(tmp_path: Path) -> None:
    # The scanner is the proof above, so prove it can fail.
    (tmp_path / "a.txt").write_text(f"hello {PIN} {JWT}")
    found = scan_for_secrets([tmp_path], [PIN])
    assert any("known secret #1" in f for f in found)
    assert any("JWT" in f for f in found)


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("access_token", True),
        ("refreshToken", True),
        ("id_token", True),
        ("Authorization", True),
        ("Set-Cookie", True),
        ("cookies", True),
        ("client_secret", True),
        ("clientSecret", True),
        ("password", True),
        ("pin", True),
        ("new_pin", True),
        ("code", True),
        ("code_verifier", True),
        ("client_assertion", True),
        ("pin_retries", False),
        ("pin_retry_guard", False),
        ("pin_set", False),
        ("client_secret_env", False),
        ("token_type", False),
        ("token_endpoint", False),
        ("status_code", False),
        ("error_code", False),
        ("signing_key", False),
        ("aaguid", False),
    ],
)
def test_secret_key_names(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


@pytest.mark.parametrize(
    ("text", "gone", "kept"),
    [
        (f"GET /cb?code={AUTH_CODE}&state=xyz", AUTH_CODE, "state=xyz"),
        (f"Authorization: Bearer {JWT}", JWT, "Bearer [REDACTED]"),
        (f"id token {ID_TOKEN} here", ID_TOKEN, "id token"),
        (f"Set-Cookie: {COOKIE}; HttpOnly", "secretcookievalue", "Set-Cookie: "),
        (f"cookie jar has {COOKIE}", "secretcookievalue", "ESTSAUTHPERSISTENT=[REDACTED]"),
        (f"secret {CLIENT_SECRET}.", CLIENT_SECRET, "secret "),
        (f"rt {REFRESH}", REFRESH, "rt "),
        ('{"refresh_token": "abc.def", "scope": "User.Read"}', "abc.def", '"scope": "User.Read"'),
        ("-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----", "MIIEv", ""),
        ("DefaultEndpointsProtocol=https;AccountKey=abc123==;", "abc123", "DefaultEndpointsProtocol"),
        ("AADSTS50076 code=AADSTS50076", "\u0000", "code=AADSTS50076"),
        (
            "Basic authentication is disabled; token_type Bearer\nexpires_in 3599",
            "\u0000",
            "Basic authentication",
        ),
        ("Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz", "Basic [REDACTED]"),
    ],
)
def test_redact_text(text: str, gone: str, kept: str) -> None:
    out = redact_text(text)
    assert gone not in out
    assert kept in out


def test_redact_nested_structures_and_har_shapes() -> None:
    har = {
        "request": {
            "url": f"https://login.test/common/login?code={AUTH_CODE}",
            "headers": [
                {"name": "Authorization", "value": "Basic dXNlcjpwYXNzd29yZA=="},
                {"name": "Cookie", "value": "fpc=abc; x=y"},
                {"name": "Accept", "value": "text/html"},
            ],
            "cookies": [{"name": "ESTSAUTH", "value": "zzz"}],
            "postData": {"text": f"assertion={JWT}&flowToken=ft"},
        },
        "tuple": (JWT, 1, None, b"\x00\x01"),
    }
    out = redact(har)
    flat = json.dumps(out)
    for secret in (AUTH_CODE, "dXNlcjpwYXNzd29yZA", "fpc=abc", "zzz", JWT):
        assert secret not in flat
    assert out["request"]["headers"][2] == {"name": "Accept", "value": "text/html"}
    assert out["request"]["cookies"] == REDACTED
    assert out["tuple"][1:3] == (1, None)
    assert out["tuple"][3] == "<2 bytes>"


def test_redact_headers() -> None:
    assert redact_headers({"Authorization": "Bearer x" * 3, "X-Request-Id": "r1"}) == {
        "Authorization": REDACTED,
        "X-Request-Id": "r1",
    }


def test_registered_secrets_are_removed_anywhere() -> None:
    register_secret("271828")
    try:
        assert redact_text("user typed 271828 twice: 271828") == f"user typed {REDACTED} twice: {REDACTED}"
        assert redact({"note": "pin 271828"}) == {"note": f"pin {REDACTED}"}
    finally:
        forget_secrets()
    assert redact_text("271828") == "271828"


def test_capture_logs_shows_what_would_be_written() -> None:
    log = structlog.get_logger()
    with drill_context("drill-42"), capture_logs() as entries:
        log.info("token", refresh_token=REFRESH, step="signin")
    assert entries == [
        {
            "event": "token",
            "refresh_token": REDACTED,
            "step": "signin",
            "drill_id": "drill-42",
            "log_level": "info",
        }
    ]
    with capture_logs(redacted=False) as raw:
        log.info("token", refresh_token="plain")
    assert raw[0]["refresh_token"] == "plain"


def test_drill_id_lands_in_every_record(log_file: Path) -> None:
    with drill_context("2026-11-25T0700Z-bg-1"):
        structlog.get_logger().info("inside")
    structlog.get_logger().info("outside")
    records = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert records[0]["drill_id"] == "2026-11-25T0700Z-bg-1"
    assert "drill_id" not in records[1]
    assert records[0]["level"] == "info"
    assert records[0]["timestamp"].endswith("Z")


def test_pdf_streams_are_scanned(tmp_path: Path) -> None:
    import zlib

    stream = zlib.compress(f"BT (pin {PIN}) Tj ET".encode())
    (tmp_path / "r.pdf").write_bytes(b"%PDF-1.7\n1 0 obj\n<<>>\nstream\n" + stream + b"\nendstream\n")
    assert scan_for_secrets([tmp_path / "r.pdf"], [PIN]) == [
        f"{tmp_path / 'r.pdf'} (PDF stream 0): known secret #1 (verbatim)"
    ]
