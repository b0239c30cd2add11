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
from drill.evidence.model import Check, DrillRecord, Status

_MAX = 2000


def _scrub(root: ET.Element) -> None:
    for element in root.iter():
        for key, value in element.attrib.items():
            element.set(key, xml_text(value))
        if element.text is not None:
            element.text = xml_text(element.text)


def render(record: DrillRecord, *, attestation: str | None = None) -> str:
    """JUnit XML text; FAIL maps to <failure>, ERROR to <error>, SKIPPED to <skipped>.

    `attestation` (who signed the bundle, and whether that key was pinned) becomes the `evidence`
    property, so a dashboard shows whose key vouches for the result.
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
        *([("evidence", attestation)] if attestation is not None else []),
    ):
        ET.SubElement(props, "property", name=prop[0], value=prop[1])
    suite.insert(0, props)
    root = ET.Element("testsuites", name="breakglass-drill")
    root.append(suite)
    _scrub(root)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
