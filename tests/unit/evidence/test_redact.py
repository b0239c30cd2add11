"""The evidence writer's redaction seam: the house redactor plus local rules, flags kept."""

from __future__ import annotations

from pathlib import Path

from records_support import AUTH_CODE, CLIENT_SECRET, COOKIE, JWT, PIN

from drill.evidence._redact import REDACTED, local_redact, local_redact_text, redact, redact_text


def test_secrets_by_name_and_by_shape() -> None:
    out = redact(
        {
            "pin": PIN,
            "newPin": PIN,
            "claims": {"aud": "x", "raw": JWT},
            "redirect": f"https://localhost/cb?code={AUTH_CODE}&state=1",
            "headers": {"Cookie": COOKIE, "Authorization": f"Bearer {JWT}"},
            "client_secret": CLIENT_SECRET,
            "note": f"pin={PIN} and {JWT}",
        }
    )
    text = repr(out)
    for secret in (PIN, JWT, AUTH_CODE, CLIENT_SECRET, COOKIE.split("=", 1)[1]):
        assert secret not in text
    assert out["claims"]["aud"] == "x"
    assert out["redirect"].startswith("https://localhost/cb?code=")


def test_evidence_that_is_not_secret_survives() -> None:
    data = {
        "options": {"clientPin": True, "pinUvAuthToken": False},
        "pin_set": True,
        "pin_retries": 8,
        "code": "AADSTS50076",
        "error": {"code": "InvalidAuthenticationToken"},
        "aaguid": "cb69481e-8ff7-4039-93ec-0a2729a154a8",
    }
    assert redact(data) == data


def test_local_rules_alone_fail_closed() -> None:
    """The fallback used when drill.secrets is absent masks the same shapes."""
    out = local_redact({"id_token": JWT, "code": AUTH_CODE, "pin": PIN, "list": [f"Bearer {JWT}"]})
    assert out == {"id_token": REDACTED, "code": REDACTED, "pin": REDACTED, "list": [f"Bearer {REDACTED}"]}
    assert AUTH_CODE not in local_redact_text(f"GET /cb?code={AUTH_CODE}&x=1")
    assert PIN not in redact_text(f"pin: {PIN}")


def test_scan_finds_what_redaction_would_have_caught(tmp_path: Path) -> None:
    from drill.evidence.scan import scan_folder

    (tmp_path / "a.json").write_text(f'{{"t": "{JWT}", "ok": "{REDACTED}"}}')
    (tmp_path / "b.html").write_text(f"<p>https://x/cb?code={AUTH_CODE}&amp;s=1</p><p>code={REDACTED}</p>")
    (tmp_path / "c.jsonl").write_text("nothing to see\n")
    (tmp_path / "d.txt").write_text(f"typed {PIN}")
    hits = scan_folder(tmp_path, known=[PIN])
    assert any(h.startswith("a.json: ") for h in hits)
    assert any(h.startswith("b.html: ") for h in hits)
    assert "d.txt: known secret" in hits
    assert not any(h.startswith("c.jsonl") for h in hits)
