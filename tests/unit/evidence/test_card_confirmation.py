"""Issue 28: the post-drill confirmation keeps the emergency card honest. A matching code records the
confirmation; a stale or missing code (or a playbook that cannot print a card) is a finding that says how to
reprint, in every report format and in the signed ledger line, with the drill's operator and witness.

The drill-level case (a demo drill whose card in the state folder is stale) is carried by
tests/e2e/test_filing_demo.py; these are the outcomes at the confirmation and record level."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from records_support import healthy

from drill.evidence import junit, ledger, markdown
from drill.evidence.bundle import BundleWriter
from drill.evidence.card import card_check
from drill.evidence.controls import CARD_CURRENT, card_status, confirm, findings_for
from drill.evidence.html import render_report
from drill.evidence.model import DrillRecord
from drill.evidence.signing import Signer
from drill.playbook import Playbook, load_playbook
from drill.run.demo import DEMO_PLAYBOOK


@pytest.fixture(scope="module")
def demo() -> Playbook:
    return load_playbook(DEMO_PLAYBOOK, env={})


def _record(pb: Playbook, typed: str | None, questions: list[str] | None = None) -> DrillRecord:
    """A finished record as the drill loop leaves it: the operator's answers, then the findings they make."""

    def ask(question: str, _secret: bool) -> str | None:
        if questions is not None:
            questions.append(question)
        if "emergency card" in question:
            return typed
        return "SEAL-1" if "seal id" in question else "y"

    check = card_check(pb, "ea01", DEMO_PLAYBOOK)
    answers = confirm(ask, "Alex Operator", "Safe 3", check)
    base = healthy("drill-20261206-100000-ea01", "ea01")
    return base.model_copy(
        update={
            "operator": {"os_user": "ops", "name": "Alex Operator"},
            "witness": "Sam Witness",
            "confirmations": answers,
            "findings": [*base.findings, *findings_for(answers)],
        }
    )


def _ledger_line(record: DrillRecord, tmp_path: Path) -> dict[str, object]:
    writer = BundleWriter(tmp_path / "reports", Signer.load(state_dir=tmp_path / "signing"), pdf=None)
    writer.begin(record)
    writer.finish(record)
    assert writer.finished is not None
    (line,) = ledger.read_entries(tmp_path / "reports" / ledger.LEDGER_NAME, kind=ledger.KIND_DRILL)
    return line


def test_a_matching_code_records_the_confirmation(demo: Playbook, tmp_path: Path) -> None:
    code = card_check(demo, "ea01", DEMO_PLAYBOOK).expected
    assert code is not None
    asked: list[str] = []
    record = _record(demo, code.lower().replace("-", " "), asked)  # as typed off the paper
    assert any("emergency card" in q and "Safe 3" in q for q in asked)
    card = next(c for c in record.confirmations if c.id == CARD_CURRENT)
    assert card.confirmed
    assert card.value == card.expected == code
    assert findings_for(record.confirmations) == []
    assert f"card version {code} is today&#39;s" in render_report(record)
    line = _ledger_line(record, tmp_path)
    assert line["card"] == {"status": "current", "entered": code, "expected": code}
    assert line["operator"] == "Alex Operator"
    assert line["witness"] == "Sam Witness"


def test_a_stale_code_is_a_finding_that_says_how_to_reprint(demo: Playbook, tmp_path: Path) -> None:
    code = card_check(demo, "ea01", DEMO_PLAYBOOK).expected
    record = _record(demo, "ABCD-EFGH")
    card = next(c for c in record.confirmations if c.id == CARD_CURRENT)
    assert not card.confirmed
    (finding,) = [f for f in record.findings if f.step == "confirmations"]
    assert finding.title == "The emergency card in the storage location is out of date"
    reprint = f"drill card {DEMO_PLAYBOOK} --account ea01"
    assert reprint in finding.detail
    assert "ABCD-EFGH" in finding.detail
    assert str(code) in finding.detail
    page = render_report(record)
    assert "out of date" in page
    assert reprint in page
    assert reprint in markdown.render(record)
    assert reprint in junit.render(record)  # the confirmation property says how to reprint
    line = _ledger_line(record, tmp_path)
    assert line["card"] == {"status": "stale", "entered": "ABCD-EFGH", "expected": code}


@pytest.mark.parametrize("typed", [None, "", "  -  "])
def test_no_code_is_a_finding_too(demo: Playbook, typed: str | None) -> None:
    record = _record(demo, typed)
    status = card_status(record.confirmations)
    assert status is not None
    assert status["status"] == "missing"
    assert status["entered"] is None
    titles = [f.title for f in record.findings]
    assert "The emergency card was not confirmed" in titles


def test_a_playbook_that_cannot_print_a_card_is_never_asked_and_is_a_finding(
    demo: Playbook, tmp_path: Path
) -> None:
    asked: list[str] = []
    record = _record(demo.model_copy(update={"emergency": None}), "ZZZZ-ZZZZ", asked)
    assert not any("emergency card" in q for q in asked)
    (finding,) = [f for f in record.findings if f.step == "confirmations"]
    assert finding.title == "No emergency card can be printed for this account"
    assert "add `emergency:`" in finding.detail
    assert _ledger_line(record, tmp_path)["card"] == {
        "status": "unavailable",
        "entered": None,
        "expected": None,
    }


def test_hostile_typed_text_is_inert(demo: Playbook) -> None:
    record = _record(demo, "<script>\x1b[2J" + "A" * 200)
    card = next(c for c in record.confirmations if c.id == CARD_CURRENT)
    assert card.value is not None
    assert card.value.isalnum()
    assert len(card.value) <= 32
    assert "<script>" not in json.dumps(record.model_dump(mode="json"))


def test_a_drill_without_confirmations_carries_no_card_in_its_line(tmp_path: Path) -> None:
    line = _ledger_line(healthy("drill-20261206-110000-ea01", "ea01"), tmp_path)
    assert line["card"] is None


def test_drill_run_asks_for_the_code_at_its_console_prompts(
    demo: Playbook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`drill run`'s own prompts (drill/run/live.py): the fourth question is the card's code; Ctrl-C there is
    no code, never a crash."""
    import click

    from drill.run import live

    check = card_check(demo, "ea01", DEMO_PLAYBOOK)
    for last, status in ((check.expected, "current"), (click.exceptions.Abort(), "missing")):
        queue: list[object] = ["y", "SEAL-9", "y", last]
        asked: list[str] = []

        def prompt(
            question: str, queue: list[object] = queue, asked: list[str] = asked, **_kw: object
        ) -> str:
            asked.append(question)
            answer = queue.pop(0)
            if isinstance(answer, BaseException):
                raise answer
            return str(answer)

        monkeypatch.setattr("typer.prompt", prompt)
        got = live.post_drill_confirmations("Alex", "Safe 3", check)
        assert "emergency card" in asked[-1]
        assert card_status(got) == {
            "status": status,
            "entered": check.expected if status == "current" else None,
            "expected": check.expected,
        }
