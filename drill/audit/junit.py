"""The audit as JUnit XML, so a CI dashboard shows each control as a test case with its finding.

One case per check, classname = the check's area. FAILED is a <failure> and ERROR an <error> (both fail the
build, as they fail the audit); an advisory WARNING passes with its finding in <system-out>, so it stays
visible without failing; NOT_APPLICABLE is <skipped> with the playbook's reason. Text is redacted, then the
tree is built with ElementTree (which escapes markup) and every attribute and text is passed through the
product's sanitiser, which makes XML-illegal code points visible instead of breaking the file.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from drill.audit.model import Result, Status
from drill.evidence._sanitize import xml_text
from drill.secrets import redact_text

if TYPE_CHECKING:
    from drill.audit.report import AuditReport

_MAX = 2000


def _scrub(root: ET.Element) -> None:
    for element in root.iter():
        for key, value in element.attrib.items():
            element.set(key, xml_text(redact_text(value)))
        if element.text is not None:
            element.text = xml_text(redact_text(element.text))


def _body(result: Result) -> str:
    outcome = result.outcome
    lines = [outcome.summary, *(f"- {o}" for o in outcome.offenders)]
    if outcome.status in (Status.FAILED, Status.ERROR, Status.WARNING):
        lines += ["", f"Remediation: {result.spec.remediation}"]
    return "\n".join(lines)


def render(report: AuditReport) -> str:
    """JUnit XML text of the whole audit (one <testsuite>)."""
    counts = report.summary()
    suite = ET.Element(
        "testsuite",
        name=f"breakglass-drill audit {report.tenant_id}",
        timestamp=report.read_at.isoformat(),
        tests=str(len(report.results)),
        failures=str(counts[Status.FAILED]),
        errors=str(counts[Status.ERROR]),
        skipped=str(counts[Status.NOT_APPLICABLE]),
        time=f"{report.duration_s:.3f}",
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("tenant_id", report.tenant_id),
        ("playbook", report.playbook_name),
        ("read_at", report.read_at.isoformat()),
        ("exit_code", str(report.exit_code())),
        *((f"requests:{service}", str(n)) for service, n in sorted(report.requests.items())),
        *((f"note:{i}", note) for i, note in enumerate(report.notes, 1)),
    ):
        ET.SubElement(props, "property", name=name, value=value)
    for result in report.results:
        spec, outcome = result.spec, result.outcome
        case = ET.SubElement(
            suite, "testcase", classname=spec.area, name=f"{spec.id} {spec.title}", time="0.000"
        )
        message = outcome.summary[:_MAX]
        if outcome.status is Status.FAILED:
            ET.SubElement(case, "failure", message=message, type=spec.severity.value).text = _body(result)
        elif outcome.status is Status.ERROR:
            ET.SubElement(case, "error", message=message, type="error").text = _body(result)
        elif outcome.status is Status.NOT_APPLICABLE:
            ET.SubElement(case, "skipped", message=message)
        elif outcome.status is Status.WARNING:
            ET.SubElement(case, "system-out").text = "WARNING (advisory): " + _body(result)
    root = ET.Element("testsuites", name="breakglass-drill audit")
    root.append(suite)
    _scrub(root)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
