"""The report names the controls a drill evidences, the operator and witness, and the operator's post-drill
confirmations (signed in the bundle), in every format, escaped like any other text."""

from __future__ import annotations

import html as htmllib
import json
import xml.etree.ElementTree as ET  # our own output, not untrusted input

from evidence_support import WriteBundle
from records_support import healthy

from drill.evidence import junit, markdown
from drill.evidence.controls import CONTROLS, KEY_RESEALED, PIN_ENVELOPE, confirm, controls
from drill.evidence.html import render_report
from drill.evidence.model import DrillRecord
from drill.evidence.verify import verify_bundle

EXPECTED = [
    ("CIS Microsoft 365 Foundations", "1.1.2"),
    ("CIS Microsoft 365 Foundations", "2.2.1"),
    ("NIST SP 800-53", "AC-2"),
    ("NIST SP 800-53", "CP-4"),
    ("ISO/IEC 27001:2022", "A.5.30"),
    ("SOC 2", "CC7.5"),
]


def _record(answers: dict[str, str | None]) -> DrillRecord:
    def ask(question: str, _secret: bool) -> str | None:
        if "seal id" in question:
            return answers["seal"]
        return answers["PIN"] if "PIN" in question else answers["key"]

    base = healthy("drill-controls")
    return base.model_copy(
        update={
            "operator": {"os_user": "ops", "name": "Alex Operator"},
            "witness": "Sam <b>Witness</b>",
            "controls": controls(),
            "confirmations": confirm(ask, "Alex Operator", "Safe 3, envelope 17"),
        }
    )


def test_every_format_names_controls_operator_witness_and_confirmations() -> None:
    record = _record({"key": "y", "seal": "SEAL-4711", "PIN": "y"})
    assert [(c.framework, c.id) for c in CONTROLS] == EXPECTED
    page = render_report(record)
    for framework, control in EXPECTED:
        assert htmllib.escape(framework) in page
        assert f"<td>{control}</td>" in page
    assert "Alex Operator" in page
    assert "Sam &lt;b&gt;Witness&lt;/b&gt;" in page  # escaped, never markup
    assert "seal id SEAL-4711" in page
    assert "The PIN envelope is intact" in page
    md = markdown.render(record)
    assert "Controls this drill evidences" in md
    assert all(f"`{control}`" in md for _f, control in EXPECTED)
    assert "**yes** `The security key was returned" in md
    assert "`seal id SEAL-4711`" in md
    root = ET.fromstring(junit.render(record))  # noqa: S314 (our own output, not untrusted input)
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["operator"] == "Alex Operator"
    assert props["witness"] == "Sam <b>Witness</b>"  # the XML layer escapes it
    assert props["control:NIST SP 800-53 CP-4"] == "Contingency Plan Testing"
    assert props[f"confirmation:{KEY_RESEALED}"] == "yes: seal id SEAL-4711"
    assert props[f"confirmation:{PIN_ENVELOPE}"] == "yes"


def test_a_refused_or_missing_answer_is_recorded_as_not_confirmed() -> None:
    record = _record({"key": "n", "seal": "never asked", "PIN": None})
    by_id = {c.id: c for c in record.confirmations}
    assert not by_id[KEY_RESEALED].confirmed
    assert by_id[KEY_RESEALED].detail == "no seal id given"
    assert not by_id[PIN_ENVELOPE].confirmed
    assert by_id[PIN_ENVELOPE].detail == "no answer"
    assert "**NO**" in markdown.render(record)
    assert ">NO</td>" in render_report(record)


def test_confirmations_and_controls_are_signed_in_the_bundle(write_bundle: WriteBundle) -> None:
    record = _record({"key": "yes", "seal": "SEAL-1", "PIN": "yes"})
    done = write_bundle(record)
    result = verify_bundle(done.path)
    assert result.status == "VALID", result.problems
    stored = json.loads((done.path / "report.json").read_text())
    assert [c["id"] for c in stored["controls"]] == [c for _f, c in EXPECTED]
    assert [c["confirmed"] for c in stored["confirmations"]] == [True, True]
    (done.path / "report.json").write_text(
        json.dumps({**stored, "confirmations": []}, indent=2) + "\n"
    )  # removing a confirmation after signing
    assert verify_bundle(done.path).status == "INVALID"
