"""Secret scan of written evidence: the last check that nothing secret-shaped reached disk.

Uses the house redactor's value patterns (JWT, bearer, OAuth parameters, session cookies, client secrets,
private keys) plus any exact values the caller knows (the PIN typed in a test). PDFs are scanned through
`pdftotext` when poppler is installed; images are skipped. A match that is already `[REDACTED]` is fine.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from drill.evidence._redact import REDACTED
from drill.secrets import VALUE_PATTERNS

_FALLBACK = (
    ("JWT", re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")),
    ("bearer token", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}")),
    ("OAuth parameter", re.compile(r"(?i)[?&#](code|id_token|access_token|refresh_token)=[^&#\s\"'<]+")),
)
_SKIP = (".png", ".jpg", ".jpeg", ".lock")


def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    return [(name, pattern) for name, pattern, _ in VALUE_PATTERNS] + list(_FALLBACK)


def _text(path: Path) -> str | None:
    if path.suffix.lower() in _SKIP:
        return None
    if path.suffix.lower() == ".pdf":
        tool = shutil.which("pdftotext")
        if tool is None:
            return None
        out = subprocess.run([tool, str(path), "-"], capture_output=True, text=True, check=False, timeout=60)
        return out.stdout
    return path.read_text(encoding="utf-8", errors="replace")


def scan_text(text: str, known: Iterable[str] = ()) -> list[str]:
    """Names of the secret shapes (and 'known secret') found unredacted in text."""
    hits = [
        name for name, pattern in _patterns() for m in pattern.finditer(text) if REDACTED not in m.group(0)
    ]
    hits += ["known secret" for value in known if value and value in text]
    return sorted(set(hits))


def scan_folder(folder: Path, known: Iterable[str] = ()) -> list[str]:
    """`relative/path: what` for every file under `folder` holding something secret-shaped."""
    values = [v for v in known if v]
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = _text(path)
        if text is None:
            continue
        found += [f"{path.relative_to(folder).as_posix()}: {name}" for name in scan_text(text, values)]
    return found
