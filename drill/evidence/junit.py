"""JUnit XML for CI dashboards: one suite per drill, one test case per check (or per check-less step).

Built with ElementTree so every tenant-supplied string is escaped by the serializer, not by hand. The
serializer does not drop code points XML 1.0 forbids (NUL, ESC, most C0), so a tenant string holding one made
the whole file unparseable and the CI dashboard showed nothing at all: every attribute and text is passed
through the shared sanitiser once the tree is built, so no field can be forgotten.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from drill.evidence._redact import redacted_record
from drill.evidence._sanitize import xml_text
from drill.evidence.model import Check, DrillRecord, Status, effective_status, replacement_note

_MAX = 2000


def _scrub(root: ET.Element) -> None:
    for element in root.iter():
        for key, value in element.attrib.items():
            element.set(key, xml_text(value))
        if element.text is not None:
            element.text = xml_text(element.text)


def render(record: DrillRecord, *, attestation: str | None = None, unpinned: bool = False) -> str:
    """JUnit XML text; FAIL maps to <failure>, ERROR to <error>, SKIPPED to <skipped>; NOT_OBSERVABLE to
    <skipped> when its replacing proof passed (or it is optional), else to <failure>.

    `attestation` (who signed the bundle, and whether that key was pinned) becomes the `evidence`
    property, so a dashboard shows whose key vouches for the result; `unpinned` adds the failing case
    `_attest_suite` describes.
    """
    record = redacted_record(record)
    suite = ET.Element(
        "testsuite",
        name=f"breakglass-drill {record.account_name}",
        timestamp=record.started_at.isoformat(),
        hostname=str(record.workstation.get("host", "")),
    )
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total = 0.0
    for step in record.steps:
        cases: list[Check | None] = list(step.checks) or [None]
        for check in cases:
            counts["tests"] += 1
            name = check.id if check is not None else step.step
            status = check.status if check is not None else step.status
            reason = check.reason if check is not None else step.reason
            if check is not None and status is Status.NOT_OBSERVABLE:
                # A dashboard shows what the verdict counted: skipped only when the replacing proof passed.
                reason = f"{reason}; {replacement_note(record.steps, check)}"
                proven = effective_status(record.steps, check) is Status.PASS
                status = Status.SKIPPED if proven or not check.required else Status.FAIL
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"drill.{step.step}",
                name=name,
                time=f"{step.duration_s if check is None or check is cases[0] else 0:.3f}",
            )
            if status is Status.FAIL:
                counts["failures"] += 1
                ET.SubElement(case, "failure", message=reason[:_MAX], type="fail").text = reason
            elif status is Status.ERROR:
                counts["errors"] += 1
                ET.SubElement(case, "error", message=reason[:_MAX], type="error").text = reason
            elif status is Status.SKIPPED:
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=reason[:_MAX])
            if check is not None and check.evidence:
                text = json.dumps(check.evidence, indent=2, sort_keys=True, default=str)[:_MAX]
                ET.SubElement(case, "system-out").text = text
        total += step.duration_s
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", f"{total:.3f}")
    props = ET.Element("properties")
    prop: tuple[str, str]
    for prop in (
        ("drill_id", record.drill_id),
        ("verdict", record.verdict.value),
        ("reason", record.reason),
        ("tenant_id", record.tenant_id or ""),
        ("account_upn", record.account_upn or ""),
        ("operator", str(record.operator.get("name") or record.operator.get("os_user") or "")),
        ("witness", record.witness or ""),
        *[(f"control:{c.framework} {c.id}", c.title) for c in record.controls],
        *[
            (f"confirmation:{c.id}", ("yes" if c.confirmed else "NO") + (f": {c.detail}" if c.detail else ""))
            for c in record.confirmations
        ],
    ):
        ET.SubElement(props, "property", name=prop[0], value=prop[1])
    suite.insert(0, props)
    if attestation is not None:
        _attest_suite(suite, attestation, unpinned=unpinned)
    root = ET.Element("testsuites", name="breakglass-drill")
    root.append(suite)
    _scrub(root)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def attest(signed: bytes, attestation: str, *, unpinned: bool) -> str:
    """A posture audit's signed junit.xml with the attestation added to every suite (see `_attest_suite`).

    When unpinned, the file is whatever the bundle's own key signed, so it is parsed as untrusted input:
    a DOCTYPE (entities) is refused outright, and anything but JUnit is a ValueError.
    """
    if b"<!DOCTYPE" in signed.upper() or b"<!ENTITY" in signed.upper():
        raise ValueError("it declares a DOCTYPE or entities")
    try:
        root = ET.fromstring(signed)  # noqa: S314 (no DOCTYPE, so no entity; expat fetches nothing)
    except ET.ParseError as exc:
        raise ValueError(f"not well-formed XML: {exc}") from exc
    if root.tag not in ("testsuite", "testsuites"):
        raise ValueError(f"its root is <{root.tag[:40]}>, not <testsuites>")
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    if not suites:  # an empty run still says who vouches for it
        suites = [ET.SubElement(root, "testsuite", name="evidence", tests="0", failures="0", errors="0")]
    for suite in suites:
        _attest_suite(suite, attestation, unpinned=unpinned)
    _scrub(root)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _attest_suite(suite: ET.Element, attestation: str, *, unpinned: bool) -> None:
    """Say in the suite whose key vouches for it: an `evidence` property, and, when no key was pinned, a
    failing `evidence / signer pinned` case.

    Unpinned, the signature proves only that the bundle matches a key it carries itself: anyone can make
    such a bundle, so a dashboard that reads only this file must not show it green.
    """
    props = suite.find("properties")
    if props is None:
        props = ET.Element("properties")
        suite.insert(0, props)
    for claimed in props.findall("property[@name='evidence']"):  # the file's own say about who vouches
        props.remove(claimed)
    ET.SubElement(props, "property", name="evidence", value=attestation)
    if not unpinned:
        return
    try:
        tests, errors = int(suite.get("tests", "0")), int(suite.get("errors", "0"))
    except ValueError as exc:
        raise ValueError("a <testsuite> whose counts are not numbers") from exc
    case = ET.SubElement(suite, "testcase", classname="evidence", name="signer pinned", time="0.000")
    ET.SubElement(case, "error", message=attestation[:_MAX], type="unpinned").text = (
        f"{attestation}. Run drill report with --trust FINGERPRINT (the signer you expect) for a result "
        "anyone can rely on."
    )
    suite.set("tests", str(tests + 1))
    suite.set("errors", str(errors + 1))
