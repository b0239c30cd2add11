"""Issue 28: `drill card` prints the emergency card kept with each key: HTML and PDF with no secret, every
playbook value escaped, and a version code that changes when, and only when, the printed content does."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from cli_support import run_cli

from drill.evidence.card import Card, CardUnavailable, build_card, card_codes, normalise_code
from drill.evidence.card_print import code_on, write_card
from drill.evidence.html import render_card
from drill.evidence.scan import scan_folder
from drill.playbook import Playbook, load_playbook
from drill.run.demo import DEMO_PLAYBOOK


def _demo() -> Playbook:
    return load_playbook(DEMO_PLAYBOOK, env={})


def _with_account(pb: Playbook, name: str, **changes: Any) -> Playbook:
    accounts = [a.model_copy(update=changes) if a.name == name else a for a in pb.accounts]
    return pb.model_copy(update={"accounts": accounts})


def _with_emergency(pb: Playbook, **changes: Any) -> Playbook:
    assert pb.emergency is not None
    return pb.model_copy(update={"emergency": pb.emergency.model_copy(update=changes)})


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (pdftotext) not installed")
def test_drill_card_on_the_demo_playbook_writes_html_and_pdf_with_no_secret(tmp_path: Path) -> None:
    out = tmp_path / "cards"
    exit_code, stdout, stderr = run_cli("card", str(DEMO_PLAYBOOK), "--account", "ea01", "--out", str(out))
    assert exit_code == 0, stderr
    code = build_card(_demo(), _demo().account("ea01")).code
    assert f"card version {code}" in stdout
    html, pdf = out / f"card-ea01-{code}.html", out / f"card-ea01-{code}.pdf"
    assert html.is_file()
    assert pdf.read_bytes().startswith(b"%PDF")
    assert scan_folder(out) == []  # the evidence secret scan, PDF text included
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for shown in (
        "ea01@contoso.onmicrosoft.com",
        "https://login.microsoftonline.test",
        "sealed PIN envelope",
        "Contoso Security Operations",
        "every use",
        "Demo Operator",
        "Demo Witness",
        code,
    ):
        assert shown in text.replace("\n", " "), shown
    assert "no PIN and no password" in text.replace("\n", " ")  # the card says where the PIN is, not what
    assert subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout.count("Pages:") == 1
    assert code_on(html.read_text()) == code


def test_the_code_changes_when_and_only_when_the_printed_content_changes() -> None:
    pb = _demo()
    card = build_card(pb, pb.account("ea01"))
    base = card.code
    assert len(base) == 9
    assert base[4] == "-"
    # The date is printed, not hashed; nothing outside the card's content moves the code.
    assert render_card(card, date(2026, 1, 1)) != render_card(card, date(2027, 1, 1))
    same = [
        pb.model_copy(update={"sla": pb.sla.model_copy(update={"alert": 999.0})}),
        pb.model_copy(update={"schedule": pb.schedule.model_copy(update={"cycle_days": 30})}),
        _with_account(pb, "ea02", storage_location="Safe Z", authorised_people=["Zed"]),
        _with_account(pb, "ea01", pin_retry_guard=5),
    ]
    for other in same:
        assert build_card(other, other.account("ea01")).code == base
    changed = [
        _with_account(pb, "ea01", upn="ea09@contoso.onmicrosoft.com"),
        _with_account(pb, "ea01", storage_location="Safe C, envelope 4"),
        _with_account(pb, "ea01", authorised_people=["Demo Operator"]),
        _with_account(pb, "ea01", authorised_people=["Demo Witness", "Demo Operator"]),  # order is printed
        _with_account(pb, "ea01", key=pb.account("ea01").key.model_copy(update={"label": "EA01 spare"})),
        _with_emergency(pb, use_for=["Only when the CISO says so"]),
        _with_emergency(pb, never_for=["Anything else"]),
        _with_emergency(pb, sign_in_url="https://entra.microsoft.com"),
        _with_emergency(
            pb,
            contacts=[pb.emergency.contacts[0].model_copy(update={"phone": "+1 555 0199"})],  # type: ignore[union-attr]
        ),
    ]
    codes = {build_card(other, other.account("ea01")).code for other in changed}
    assert base not in codes
    assert len(codes) == len(changed)
    # The code is a function of exactly the printed content: every field of the card is in it.
    for name in Card.__dataclass_fields__:
        tweaked = Card(**{**card.content, name: ("x",) if isinstance(card.content[name], tuple) else "x"})
        assert tweaked.code != base, name
    assert card_codes(pb)["ea01"] == base


def test_a_typed_code_is_read_as_printed() -> None:
    assert normalise_code(" zhvf 02cz ") == "ZHVF-02CZ"
    assert normalise_code("ZHVF-O2CZ") == "ZHVF-02CZ"  # O typed for 0
    assert normalise_code("") is None
    assert normalise_code(None) is None
    assert normalise_code(" - ") is None


def test_every_value_is_escaped_and_control_characters_shown() -> None:
    pb = _with_account(
        _demo(),
        "ea01",
        storage_location='Safe <script>alert(1)</script> "A"\x1b[2J',
        authorised_people=["<img src=x onerror=alert(1)>", "Bob\u202eevil"],
    )
    page = render_card(build_card(pb, pb.account("ea01")), date(2026, 12, 6))
    assert "<script>alert" not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\x1b" not in page
    assert "\\x1b[2J" in page
    assert "\u202e" not in page
    assert "Bob\\u202eevil" in page
    assert "script-src 'none'" in page


def test_a_playbook_without_the_emergency_section_names_the_file_and_the_fix(tmp_path: Path) -> None:
    pb = _demo().model_copy(update={"emergency": None})
    with pytest.raises(CardUnavailable, match=r"emergency.*use_for, never_for and contacts"):
        build_card(pb, pb.account("ea01"))
    assert card_codes(pb) == {"ea01": None, "ea02": None}
    text = DEMO_PLAYBOOK.read_text()
    start, end = text.index("emergency:\n"), text.index("drill_app:\n")
    bare = tmp_path / "demo.yaml"
    bare.write_text(text[:start] + text[end:])
    shutil.copytree(DEMO_PLAYBOOK.parent / "queries", tmp_path / "queries")
    exit_code, _out, stderr = run_cli("card", str(bare), "--account", "ea01", "--no-pdf")
    assert exit_code == 2, stderr
    assert f"{bare}:1:1: emergency:" in stderr
    assert "Traceback" not in stderr


def test_a_contact_nobody_can_reach_is_a_load_error_with_its_line(tmp_path: Path) -> None:
    text = DEMO_PLAYBOOK.read_text().replace(
        '      phone: "+1 555 0100"\n      email: soc@contoso.test\n', ""
    )
    path = tmp_path / "demo.yaml"
    path.write_text(text)
    shutil.copytree(DEMO_PLAYBOOK.parent / "queries", tmp_path / "queries")
    line = text.splitlines().index("    - name: Contoso Security Operations") + 1
    with pytest.raises(
        Exception, match=rf"{path}:{line}:\d+: emergency.contacts\[0\].*no phone and no email"
    ):
        load_playbook(path, env={})


def test_write_card_without_pdf_writes_html_named_by_code(tmp_path: Path) -> None:
    pb = _demo()
    printed = write_card(pb, "ea02", tmp_path, date(2026, 12, 6), pdf=None)
    assert printed.pdf is None
    assert printed.html.name == f"card-ea02-{printed.card.code}.html"
    assert "Printed 2026-12-06" in printed.html.read_text()
    with pytest.raises(Exception, match="no account named 'nope'"):
        write_card(pb, "nope", tmp_path, date(2026, 12, 6), pdf=None)


@pytest.mark.parametrize(
    ("cloud", "admin", "host"),
    [
        ("public", "https://entra.microsoft.com", "login.microsoftonline.com"),
        ("usgov", "https://entra.microsoft.us", "login.microsoftonline.us"),
    ],
)
def test_a_microsoft_cloud_sends_people_to_its_admin_center(cloud: str, admin: str, host: str) -> None:
    from drill.playbook.model import CloudName

    pb = _demo()
    named = pb.model_copy(update={"tenant": pb.tenant.model_copy(update={"cloud": CloudName(cloud)})})
    named = _with_emergency(named, sign_in_url=None)
    card = build_card(named, named.account("ea01"))
    assert card.sign_in_url == admin
    assert f"(the sign-in page is {host})" in card.steps[0]
    chosen = _with_emergency(named, sign_in_url="https://portal.azure.com")
    assert build_card(chosen, chosen.account("ea01")).sign_in_url == "https://portal.azure.com"
