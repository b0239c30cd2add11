"""Test helpers shipped with the package, the way structlog ships ``structlog.testing``.

Sections: logs (capture records as they would be written, i.e. after redaction) and secret scanning (prove
that nothing a drill wrote to disk contains a secret). Others may add simulator and key fixtures below, each
in its own section; this is the one product module besides drill/run/demo.py allowed to import drill.sim.
"""

from __future__ import annotations

import base64
import re
import urllib.parse
import zlib
from collections.abc import Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import structlog

from drill.secrets import REDACTED, VALUE_PATTERNS, redact_event

__all__ = ["capture_logs", "scan_for_secrets", "windows_authenticator", "windows_dialog_factory"]


# --- logs -------------------------------------------------------------------------------------------------
@contextmanager
def capture_logs(*, redacted: bool = True) -> Iterator[list[MutableMapping[str, Any]]]:
    """Collect structlog events as dicts for the duration of the block.

    With ``redacted=True`` (the default) events pass the production redaction processor first, so a test
    sees exactly what would reach the log file; ``redacted=False`` is structlog.testing.capture_logs.
    """
    capture = structlog.testing.LogCapture()
    processors: list[Any] = [structlog.contextvars.merge_contextvars]
    if redacted:
        processors.append(redact_event)
    processors.append(capture)
    old = structlog.get_config()
    structlog.configure(processors=processors, cache_logger_on_first_use=False)
    try:
        yield capture.entries
    finally:
        structlog.configure(**old)


# --- secret scanning --------------------------------------------------------------------------------------
_PDF_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)


def _encodings(secret: str) -> dict[str, bytes]:
    raw = secret.encode()
    forms = {
        "verbatim": raw,
        "url-encoded": urllib.parse.quote(secret, safe="").encode(),
        "base64": base64.b64encode(raw).rstrip(b"="),
        "base64url": base64.urlsafe_b64encode(raw).rstrip(b"="),
        "hex": raw.hex().encode(),
        "JSON-escaped": secret.encode("unicode_escape"),
    }
    # Short encodings of short secrets match by accident; verbatim is always kept.
    return {name: value for name, value in forms.items() if name == "verbatim" or len(value) >= 8}


def _views(path: Path, data: bytes) -> Iterator[tuple[str, bytes]]:
    yield "", data
    if path.suffix.lower() == ".pdf":
        for index, match in enumerate(_PDF_STREAM.finditer(data)):
            try:
                yield f" (PDF stream {index})", zlib.decompress(match.group(1))
            except zlib.error:
                continue


def _files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            yield path


def scan_for_secrets(paths: Iterable[Path], secrets: list[str]) -> list[str]:
    """Findings (``path: what``) for every known secret or secret-shaped string in the files under paths.

    Known secrets are searched verbatim and in the encodings a leak usually takes (URL, base64, hex, JSON
    escapes); generic shapes (JWTs, bearer headers, auth codes in URLs, Entra client secrets and refresh
    tokens, cookies) are searched too. PDF content streams are inflated first. An empty list means clean.
    """
    findings: list[str] = []
    for path in _files(paths):
        data = path.read_bytes()
        for suffix, view in _views(path, data):
            where = f"{path}{suffix}"
            for number, secret in enumerate(secrets, start=1):
                if not secret:
                    continue
                for form, needle in _encodings(secret).items():
                    if needle in view:
                        findings.append(f"{where}: known secret #{number} ({form})")
                        break
            text = view.decode("utf-8", errors="replace")
            for name, pattern, replacement in VALUE_PATTERNS:
                for match in pattern.finditer(text):
                    # Already redacted, or a diagnostic the redactor keeps (an error code): not a leak.
                    hit = match.group(0)
                    if REDACTED not in hit and pattern.sub(replacement, hit) != hit:
                        findings.append(f"{where}: {name} at offset {match.start()}")
                        break
    return findings


def demo_playbook_at(folder: Path, host: str) -> Path:
    """The demo playbook with every endpoint at `host` (one that does not resolve, or a port nobody listens
    on) and a preflight SLA of 300 s, written into `folder` with its queries: how the tests and
    bench/unreachable.py show that an unreachable host ends at once instead of being waited out."""
    import certifi

    from drill.run.demo import DEMO_PLAYBOOK

    text = DEMO_PLAYBOOK.read_text(encoding="utf-8")
    text = text.replace("127.0.0.1:${DRILL_SIM_PORT:-443}", host)
    # A CA bundle that exists (and so no msal instance discovery against Microsoft's own host).
    text = text.replace("${DRILL_SIM_CA:-}", certifi.where())
    text = re.sub(r"(?m)^  preflight: \d+$", "  preflight: 300", text)
    (folder / "queries").mkdir(exist_ok=True)
    for query in (DEMO_PLAYBOOK.parent / "queries").iterdir():
        (folder / "queries" / query.name).write_text(query.read_text(encoding="utf-8"), encoding="utf-8")
    path = folder / "playbook.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------------------
# The Windows WebAuthn path without Windows: webauthn.dll stood in for at `WindowsAuthenticator`'s seam.


def windows_dialog_factory(key: Any, pin: str) -> Any:
    """A `client_factory` for `drill.keys.windows.WindowsAuthenticator` that answers through a software key
    as the Windows security dialog would: python-fido2's Fido2Client has WindowsClient's make_credential /
    get_assertion shape (options in, RegistrationResponse / AssertionSelection out), and the dialog, not the
    drill, asks the person for the PIN. `key` is a `drill.keys.software.SoftwareKey`."""
    from fido2.client import Fido2Client, UserInteraction

    class _Dialog(UserInteraction):
        def request_pin(self, permissions: Any, rp_id: str | None) -> str | None:
            return pin

    def make(collector: Any) -> Any:
        return Fido2Client(key.open_device(), collector, user_interaction=_Dialog())

    return make


def windows_authenticator(key: Any, pin: str, related_origins: Any, approved: Iterable[Any] = ()) -> Any:
    """The account's key on the Windows WebAuthn path, its dialog answered by `key` (see above)."""
    from drill.keys.windows import WindowsAuthenticator

    return WindowsAuthenticator(
        related_origins,
        expected_aaguids=tuple(approved),
        client_factory=windows_dialog_factory(key, pin),
        api_check=lambda: (True, "webauthn.dll stood in for by a software key (tests)"),
    )
