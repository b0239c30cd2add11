"""`drill card`: one account's emergency card as HTML and PDF, ready to print and put in the safe.

The PDF is the same HTML printed by the same Chromium as report.pdf (drill/evidence/pdf.py): one renderer,
no network, no new dependency. File names carry the account and the version code, so an old card in the
folder is never mistaken for today's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from drill.evidence.card import Card, build_card
from drill.evidence.html import render_card
from drill.fsutil import atomic_write

if TYPE_CHECKING:
    from drill.playbook import Playbook

PdfRenderer = Callable[[str], bytes]
CARD_FILE = re.compile(r"card-(?P<account>[a-z0-9_.-]+)-(?P<code>[0-9A-Z]{4}-[0-9A-Z]{4})\.html")
_PRINTED_CODE = re.compile(r'id="card-code">([0-9A-Z]{4}-[0-9A-Z]{4})<')


@dataclass(frozen=True)
class PrintedCard:
    card: Card
    html: Path
    pdf: Path | None


def write_card(pb: Playbook, account: str, out: Path, printed: date, pdf: PdfRenderer | None) -> PrintedCard:
    """Write `card-<account>-<code>.html` (and `.pdf` unless `pdf` is None) into `out`."""
    card = build_card(pb, pb.account(account))
    out.mkdir(parents=True, exist_ok=True)
    page = render_card(card, printed)
    stem = f"card-{card.account}-{card.code}"
    html_path = out / f"{stem}.html"
    atomic_write(html_path, page.encode("utf-8"), mode=0o644)
    pdf_path = None
    if pdf is not None:
        pdf_path = out / f"{stem}.pdf"
        atomic_write(pdf_path, pdf(page), mode=0o644)
    return PrintedCard(card, html_path, pdf_path)


def code_on(html: str) -> str | None:
    """The version code printed on a card page (what a person reads off the paper), or None."""
    found = _PRINTED_CODE.search(html)
    return found.group(1) if found else None
