"""The audit in Maester's result JSON, so a Maester user sees the break-glass checks in the report they use.

The shape follows what Maester itself writes (ConvertTo-MtMaesterResult) and what its report reads; the
facts, with file paths and the commit they were read at, are in docs/MAESTER_FORMAT.md, and
tests/unit/audit/test_audit_maester.py holds this output to them. The file can be imported with
Import-MtMaesterResult (it needs Tests, TenantId, ExecutedAt), merged with a Maester run with
Merge-MtMaesterResult, and rendered with Get-MtHtmlReport.

Mapping: PASSED -> Passed, FAILED -> Failed, ERROR -> Error, WARNING (an advisory check that did not pass) ->
Investigate ("the test ran ... but the result needs human interpretation"), NOT_APPLICABLE -> Skipped with
TestSkipped "Custom" and the reason. TestDescription and TestResult are rendered by Maester as Markdown
(react-markdown + remark-gfm in the HTML report; pasted verbatim into the Markdown report) and shown raw in
its Excel view. So the catalog's own text (rationale, remediation, mappings) goes in as the Markdown it is
written in (BG.PROC.1's `drill run` shows as code), and only the tenant's text (summaries, offending
objects) is redacted, has its URLs defanged (`hxxps://evil[.]example`, `www[.]...`: remark-gfm would make
them links) and is made inert with as few backslashes as Markdown needs (markdown_inert), so the Excel
view reads as plain text. Tags are short (tool, id, area: the mappings are in the description), and
ScriptBlockFile, Maester's "Source" card, names the check's module and line. Nothing is nested deeper than
Maester's own ConvertTo-Json -Depth 5 keeps.
"""

from __future__ import annotations

import inspect
import json
from functools import cache
from typing import TYPE_CHECKING, Any

from drill import __version__
from drill.audit.judge import registry
from drill.audit.model import Result, Status
from drill.evidence._sanitize import clean_text, defang_urls, markdown_inert
from drill.secrets import redact_text

if TYPE_CHECKING:
    from drill.audit.report import AuditReport

RESULT = {
    Status.PASSED: "Passed",
    Status.FAILED: "Failed",
    Status.ERROR: "Error",
    Status.WARNING: "Investigate",
    Status.NOT_APPLICABLE: "Skipped",
}
# Counters Maester writes, in its order, and the Result each one counts.
COUNTERS = (
    ("FailedCount", "Failed"),
    ("PassedCount", "Passed"),
    ("ErrorCount", "Error"),
    ("InvestigateCount", "Investigate"),
    ("SkippedCount", "Skipped"),
    ("NotRunCount", "NotRun"),
)
BLOCK_PREFIX = "Break-glass"
TOOL = "breakglass-drill"


def _plain(value: object) -> str:
    """Redacted one-line text for a JSON field Maester shows as plain text (names, tags)."""
    return clean_text(redact_text(str(value)))


def _tenant_md(value: object) -> str:
    """Text that came from the tenant (summaries, offenders), for a field Maester renders as Markdown:
    redacted, its URLs defanged so a policy or app name cannot plant a clickable link
    (``hxxps://evil[.]example``), and with no Markdown or HTML meaning left."""
    return markdown_inert(defang_urls(redact_text(str(value))))


@cache
def _sources() -> dict[str, str]:
    """Check id -> "drill/audit/checks_ca.py:243 (check_what_if)": where the check's code is."""
    out = {}
    for check_id, fn in registry().items():
        code = inspect.unwrap(fn)
        # Named by module, so an installed wheel shows the same path as a checkout.
        shown = code.__module__.replace(".", "/") + ".py"
        out[check_id] = f"{shown}:{inspect.getsourcelines(code)[1]} ({code.__name__})"
    return out


def _duration(seconds: float, *, millis: bool) -> str:
    """.NET TimeSpan 'hh\\:mm\\:ss' (run totals) or 'hh\\:mm\\:ss\\.fff' (a test), as Maester formats them."""
    total_ms = round(max(0.0, seconds) * 1000)
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    text = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{text}.{ms:03d}" if millis else text


def _description(result: Result) -> str:
    spec = result.spec
    # The catalog's own Markdown (drill/audit/catalog.py), as written: no tenant text here.
    lines = [
        spec.rationale,
        "",
        "#### Remediation action",
        "",
        spec.remediation,
        "",
        "#### Mappings",
        "",
        *(f"- {m.framework} {m.control}" + (f": {m.title}" if m.title else "") for m in spec.mappings),
    ]
    if spec.references:
        lines += ["", "#### Related Links", "", *(f"- {url}" for url in spec.references)]
    return "\n".join(lines)


def _result_text(result: Result) -> str:
    """Maester's own prefixes for a skipped or errored test ("Skipped. <reason>", "Error. <reason>")."""
    outcome = result.outcome
    prefix = {Status.NOT_APPLICABLE: "Skipped. ", Status.ERROR: "Error. "}.get(outcome.status, "")
    lines = [prefix + _tenant_md(outcome.summary)]
    if outcome.offenders:
        lines += ["", "#### Offending objects", "", *(f"- {_tenant_md(o)}" for o in outcome.offenders)]
    lines += ["", f"Evidence: the objects judged are in the {TOOL} audit bundle (report.json)."]
    return "\n".join(lines)


def _test(result: Result) -> dict[str, Any]:
    spec, outcome = result.spec, result.outcome
    status = RESULT[outcome.status]
    severity = spec.severity.value.capitalize()
    title = _plain(spec.title)
    name = f"{spec.id}: {title}"
    # Maester marks an errored test with TestSkipped "Error" (ConvertTo-MtMaesterResult then says Error).
    skipped = {Status.NOT_APPLICABLE: "Custom", Status.ERROR: "Error"}.get(outcome.status)
    return {
        "Index": 0,  # numbered after sorting, as Maester does
        "Id": spec.id,
        "Title": title,
        "Name": name,
        "HelpUrl": spec.references[-1] if spec.references else "",
        "Severity": severity,
        # Short, as Maester's own (at most 7 tags of at most 37 characters): the framework mappings are
        # listed in the description instead.
        "Tag": [TOOL, spec.id, spec.area, *(["Advisory"] if spec.advisory else [])],
        "Result": status,
        "ScriptBlock": "",
        "ScriptBlockFile": _sources()[spec.id],
        "ErrorRecord": [],
        "Block": f"{BLOCK_PREFIX}/{_plain(spec.area)}",
        "Duration": _duration(0.0, millis=True),
        "ResultDetail": {
            "TestTitle": name,
            "TestDescription": _description(result),
            "TestResult": _result_text(result),
            "TestSkipped": skipped,
            "SkippedReason": _tenant_md(outcome.summary) if skipped else None,
            "TestInvestigate": outcome.status is Status.WARNING,
            "Severity": severity,
            "Service": "Entra",
        },
    }


def _sorted(tests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Passed and Failed first by Name, then the rest by Name; then numbered from 1 (GetTestsSorted)."""
    active = sorted((t for t in tests if t["Result"] in ("Passed", "Failed")), key=lambda t: t["Name"])
    inactive = sorted((t for t in tests if t["Result"] not in ("Passed", "Failed")), key=lambda t: t["Name"])
    out = active + inactive
    for index, test in enumerate(out, 1):
        test["Index"] = index
    return out


def _counts(tests: list[dict[str, Any]]) -> dict[str, int]:
    counts = {key: sum(1 for t in tests if t["Result"] == value) for key, value in COUNTERS}
    counts["TotalCount"] = len(tests)
    return counts


def build(report: AuditReport, *, tenant_name: str = "", account: str = "") -> dict[str, Any]:
    """The Maester result object (Python data, JSON-able)."""
    tests = _sorted([_test(r) for r in report.results])
    failed = any(t["Result"] in ("Failed", "Error") for t in tests)
    blocks = []
    for block in dict.fromkeys(t["Block"] for t in tests):
        members = [t for t in tests if t["Block"] == block]
        block_failed = any(t["Result"] in ("Failed", "Error") for t in members)
        blocks.append(
            {
                "Name": block,
                "Result": "Failed" if block_failed else "Passed",
                **_counts(members),
                "Tag": [TOOL, block.split("/", 1)[1]],
            }
        )
    duration = _duration(report.duration_s, millis=False)
    return {
        "Result": "Failed" if failed else "Passed",
        **_counts(tests),
        "ExecutedAt": report.read_at.isoformat(),
        "TotalDuration": duration,
        "UserDuration": duration,
        "DiscoveryDuration": _duration(0.0, millis=False),
        "FrameworkDuration": _duration(0.0, millis=False),
        "TenantId": report.tenant_id,
        "TenantName": _plain(tenant_name or report.tenant_id),
        "TenantLogos": None,
        "Account": _plain(account),
        "CurrentVersion": f"{TOOL} {__version__}",
        "LatestVersion": "Unknown",
        "SystemInfo": None,
        "PowerShellInfo": None,
        "LoadedModules": [],
        "InvokeCommand": _plain(f"drill audit {report.playbook_name}"),
        "MgContext": None,
        "PesterConfig": None,
        "MaesterConfig": None,
        "Tests": tests,
        "Blocks": blocks,
        "EndOfJson": "EndOfJson",
    }


def render(report: AuditReport, *, tenant_name: str = "", account: str = "") -> str:
    """Maester JSON text (UTF-8 safe, ends with EndOfJson as Maester's own files do)."""
    return (
        json.dumps(build(report, tenant_name=tenant_name, account=account), indent=2, ensure_ascii=False)
        + "\n"
    )
