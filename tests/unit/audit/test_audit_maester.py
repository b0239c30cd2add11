"""The Maester JSON held to the facts in docs/MAESTER_FORMAT.md (maester365/maester@6bf1d98).

Each assertion names the fact it checks, so a Maester change shows up here as a failing fact, not as a
silently broken report.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from drill.audit.catalog import CATALOG
from drill.audit.judge import registry
from drill.audit.maester import render
from drill.audit.model import Outcome, Result, Status
from drill.audit.report import AuditReport

ROOT = Path(__file__).resolve().parents[3]
TENANT = "6f1c1a3e-0b1e-4a3c-9a5e-3d2b7c9e1f00"
READ_AT = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
JWT = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhYmNkZWYifQ.c2lnbmF0dXJlLXRleHQ"

# Fact: the top-level properties, in Maester's order, EndOfJson last.
TOP_LEVEL = [
    "Result", "FailedCount", "PassedCount", "ErrorCount", "InvestigateCount", "SkippedCount", "NotRunCount",
    "TotalCount", "ExecutedAt", "TotalDuration", "UserDuration", "DiscoveryDuration", "FrameworkDuration",
    "TenantId", "TenantName", "TenantLogos", "Account", "CurrentVersion", "LatestVersion", "SystemInfo",
    "PowerShellInfo", "LoadedModules", "InvokeCommand", "MgContext", "PesterConfig", "MaesterConfig", "Tests",
    "Blocks", "EndOfJson",
]  # fmt: skip
TEST_KEYS = {"Index": int, "Id": str, "Title": str, "Name": str, "HelpUrl": str, "Severity": str, "Tag": list,
             "Result": str, "ScriptBlock": str, "ScriptBlockFile": str, "ErrorRecord": list, "Block": str,
             "Duration": str, "ResultDetail": dict}  # fmt: skip
DETAIL_KEYS = {
    "TestTitle",
    "TestDescription",
    "TestResult",
    "TestSkipped",
    "SkippedReason",
    "TestInvestigate",
    "Severity",
    "Service",
}
BLOCK_KEYS = {
    "Name",
    "Result",
    "FailedCount",
    "PassedCount",
    "ErrorCount",
    "InvestigateCount",
    "SkippedCount",
    "NotRunCount",
    "TotalCount",
    "Tag",
}
RESULTS = {"Passed", "Failed", "Skipped", "NotRun", "Error", "Investigate"}
SEVERITIES = {"Critical", "High", "Medium", "Low", "Info", ""}
COUNTERS = {
    "FailedCount": "Failed",
    "PassedCount": "Passed",
    "ErrorCount": "Error",
    "InvestigateCount": "Investigate",
    "SkippedCount": "Skipped",
    "NotRunCount": "NotRun",
}
RUN_SPAN = re.compile(r"^\d{2}:\d{2}:\d{2}$")  # hh\:mm\:ss
TEST_SPAN = re.compile(r"^\d{2}:\d{2}:\d{2}\.\d{3}$")  # hh\:mm\:ss\.fff


def report(overrides: dict[str, Outcome] | None = None) -> AuditReport:
    overrides = overrides or {}
    results = [Result(spec, overrides.get(spec.id) or Outcome.passed("fine")) for spec in CATALOG]
    return AuditReport(TENANT, "demo.yaml", READ_AT, results, finished_at=READ_AT + timedelta(seconds=83.4))


MIXED = {
    "BG.CA.3": Outcome.failed("CA001 applies", offenders=["CA001 - Require MFA (8a7b)"]),
    "BG.AL.1": Outcome.error("could not read coverage (403)"),
    "BG.ACC.8": Outcome(Status.WARNING, "ea01 holds a licence", offenders=["ea01: SPE_E5"]),
    "BG.AL.5": Outcome(Status.NOT_APPLICABLE, "the playbook names no Sentinel analytics rule"),
}


def load(rep: AuditReport) -> dict[str, Any]:
    data = json.loads(render(rep, tenant_name="Contoso"))
    assert isinstance(data, dict)
    return data


def test_top_level_properties_in_maester_order_with_end_of_json_last() -> None:
    data = load(report(MIXED))
    assert list(data) == TOP_LEVEL
    assert data["EndOfJson"] == "EndOfJson"


def test_import_requirements_tests_tenant_and_iso_executed_at() -> None:
    data = load(report())
    assert isinstance(data["Tests"], list)
    assert data["TenantId"] == TENANT
    assert datetime.fromisoformat(data["ExecutedAt"]) == READ_AT
    assert data["TenantName"] == "Contoso"


def test_run_durations_use_the_timespan_format() -> None:
    data = load(report())
    for key in ("TotalDuration", "UserDuration", "DiscoveryDuration", "FrameworkDuration"):
        assert RUN_SPAN.match(data[key]), key
    assert data["TotalDuration"] == "00:01:23"


@pytest.mark.parametrize("overrides", [{}, MIXED])
def test_counts_are_recounted_from_tests_and_sum_to_total(overrides: dict[str, Outcome]) -> None:
    data = load(report(overrides))
    tests = data["Tests"]
    assert data["TotalCount"] == len(tests) == len(CATALOG)
    for key, value in COUNTERS.items():
        assert data[key] == sum(1 for t in tests if t["Result"] == value), key
    assert sum(data[k] for k in COUNTERS) == data["TotalCount"]


def test_every_test_has_maesters_keys_and_types() -> None:
    for test in load(report(MIXED))["Tests"]:
        for key, kind in TEST_KEYS.items():
            assert isinstance(test[key], kind), (test["Id"], key)
        assert set(test["ResultDetail"]) == DETAIL_KEYS
        assert isinstance(test["ResultDetail"]["TestInvestigate"], bool)
        assert test["Result"] in RESULTS
        assert test["Severity"] in SEVERITIES
        assert TEST_SPAN.match(test["Duration"])
        assert all(isinstance(tag, str) for tag in test["Tag"])


def test_name_splits_at_the_first_colon_into_id_and_title() -> None:
    for test in load(report())["Tests"]:
        head, _, tail = test["Name"].partition(":")
        assert head.strip() == test["Id"]
        assert tail.strip() == test["Title"]


def test_help_url_is_empty_or_absolute() -> None:
    for test in load(report())["Tests"]:
        assert test["HelpUrl"] == "" or test["HelpUrl"].startswith("https://")


def test_statuses_map_to_maester_results() -> None:
    by_id = {t["Id"]: t for t in load(report(MIXED))["Tests"]}
    assert by_id["BG.CA.3"]["Result"] == "Failed"
    assert by_id["BG.ACC.1"]["Result"] == "Passed"
    error = by_id["BG.AL.1"]
    assert error["Result"] == "Error"
    assert error["ResultDetail"]["TestSkipped"] == "Error"
    assert error["ResultDetail"]["TestResult"].startswith("Error. ")
    investigate = by_id["BG.ACC.8"]
    assert investigate["Result"] == "Investigate"
    assert investigate["ResultDetail"]["TestInvestigate"] is True
    skipped = by_id["BG.AL.5"]
    assert skipped["Result"] == "Skipped"
    assert skipped["ResultDetail"]["TestSkipped"] == "Custom"
    assert skipped["ResultDetail"]["SkippedReason"]
    assert skipped["ResultDetail"]["TestResult"].startswith("Skipped. ")


def test_run_result_is_failed_when_a_test_failed_or_errored() -> None:
    assert load(report())["Result"] == "Passed"
    assert load(report({"BG.ACC.8": Outcome(Status.WARNING, "w")}))["Result"] == "Passed"
    assert load(report({"BG.AL.1": Outcome.error("x")}))["Result"] == "Failed"
    assert load(report(MIXED))["Result"] == "Failed"


def test_sorted_passed_and_failed_first_by_name_then_index_from_one() -> None:
    tests = load(report(MIXED))["Tests"]
    assert [t["Index"] for t in tests] == list(range(1, len(tests) + 1))
    active = [t for t in tests if t["Result"] in ("Passed", "Failed")]
    assert tests[: len(active)] == active
    assert [t["Name"] for t in active] == sorted(t["Name"] for t in active)
    rest = tests[len(active) :]
    assert [t["Name"] for t in rest] == sorted(t["Name"] for t in rest)


def test_blocks_count_their_tests() -> None:
    data = load(report(MIXED))
    tests = data["Tests"]
    assert {b["Name"] for b in data["Blocks"]} == {t["Block"] for t in tests}
    for block in data["Blocks"]:
        assert set(block) == BLOCK_KEYS
        members = [t for t in tests if t["Block"] == block["Name"]]
        assert block["TotalCount"] == len(members)
        for key, value in COUNTERS.items():
            assert block[key] == sum(1 for t in members if t["Result"] == value)
        assert block["Result"] == (
            "Failed" if any(t["Result"] in ("Failed", "Error") for t in members) else "Passed"
        )


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def test_nothing_deeper_than_convertto_json_depth_5_keeps() -> None:
    assert depth(load(report(MIXED))) <= 5


HOSTILE = "[click](javascript:alert(1)) <img src=x onerror=alert(1)> **bold** | cell `code` # h \x1b[2J"


def _html(markdown: str) -> str:
    """CommonMark with GFM's tables and strikethrough, as remark-gfm reads the field (autolinks: below)."""
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)


def test_markdown_fields_make_hostile_tenant_text_inert() -> None:
    rep = report({"BG.CA.3": Outcome.failed(HOSTILE, offenders=[HOSTILE, f"token {JWT}", "~~gone~~ &amp;"])})
    test = next(t for t in load(rep)["Tests"] if t["Id"] == "BG.CA.3")
    text = test["ResultDetail"]["TestResult"]
    assert "\x1b" not in text  # the terminal escape never reaches the report raw
    assert JWT not in json.dumps(test)
    html = _html(text)
    for tag in ("<a ", "<img", "<em>", "<strong>", "<code>", "<h1", "<del>", "<table", "<s>"):
        assert tag not in html, tag
    # What the reader sees is the text as the tenant wrote it (escapes are not shown by a renderer).
    assert "[click](javascript:alert(1))" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "**bold** | cell `code` # h" in html
    assert "~~gone~~ &amp;amp;" in html
    assert "[REDACTED]" in html
    assert "\\x1b[2J" in html  # but visibly: the reader sees that something was there
    # Each offender stays on its own list item: no newline smuggled in by a name.
    rep = report({"BG.CA.3": Outcome.failed("s", offenders=["a\n# heading\n- item", "# lead", "1. x"])})
    text = next(t for t in load(rep)["Tests"] if t["Id"] == "BG.CA.3")["ResultDetail"]["TestResult"]
    assert "\n# heading" not in text
    html = _html(text)
    assert "<h1" not in html
    assert html.count("<li>") == 3
    assert "<ol" not in html


def test_tenant_text_cannot_close_the_script_maester_embeds_it_in() -> None:
    """Get-MtHtmlReport pastes the JSON into an inline <script> unescaped: no tenant `<` may reach it."""
    hostile = "CA009</script><script>alert(1)</script><!--"
    rep = report(
        {
            "BG.CA.3": Outcome.failed(hostile, offenders=[hostile]),
            "BG.AL.5": Outcome(Status.NOT_APPLICABLE, hostile),
        }
    )
    text = render(rep)
    assert not re.search(r"(?i)</script|<!--|<script", text)
    assert "CA009<" not in text
    tests = {t["Id"]: t for t in json.loads(text)["Tests"]}
    assert "CA009&lt;/script&gt;" in _html(tests["BG.CA.3"]["ResultDetail"]["TestResult"])


def test_ordinary_tenant_names_carry_no_backslash() -> None:
    """Maester's Excel view copies TestResult raw: ordinary names must read there as written."""
    names = [
        "CA001 - Require MFA for all users (8a7b6c5d)",
        "ea_admin_01 (0b6a2a35)",
        "Sales & Marketing: 50%",
    ]
    rep = report({"BG.CA.3": Outcome.failed(f"{names[0]} applies to ea01", offenders=names)})
    test = next(t for t in load(rep)["Tests"] if t["Id"] == "BG.CA.3")
    assert "\\" not in test["ResultDetail"]["TestResult"]
    for name in names:
        assert name in test["ResultDetail"]["TestResult"]


def test_the_catalogs_own_markdown_is_not_escaped() -> None:
    """Issue 26: BG.PROC.1 showed a literal `\\`drill run\\``; our own text is Markdown we wrote."""
    tests = {t["Id"]: t for t in load(report())["Tests"]}
    description = tests["BG.PROC.1"]["ResultDetail"]["TestDescription"]
    assert "Run `drill run` for each overdue account." in description
    assert "<code>drill run</code>" in _html(description)
    for test in tests.values():
        assert "\\" not in test["ResultDetail"]["TestDescription"], test["Id"]
        assert "\\" not in test["ResultDetail"]["TestResult"], test["Id"]


@pytest.mark.parametrize("spec", CATALOG, ids=lambda spec: spec.id)
def test_the_catalogs_text_is_markdown_that_reads_as_written(spec: Any) -> None:
    """Our text goes in unescaped, so it must be Markdown whose rendered text is the text itself (a stray
    `<name>` would vanish as HTML, a lone `*` could start emphasis); only code spans are styled."""
    for text in (spec.rationale, spec.remediation):
        html = _html(text)
        assert re.sub(r"</?(p|code)>", "", html).strip() == escape(text.replace("`", ""), quote=False), html


def test_tags_are_short_like_maesters_own() -> None:
    """Maester's own tests carry at most 7 tags of at most 37 characters; mappings are in the description."""
    for test in load(report())["Tests"]:
        assert 1 <= len(test["Tag"]) <= 7, test["Id"]
        assert all(len(tag) <= 37 for tag in test["Tag"]), test["Tag"]
        assert test["Id"] in test["Tag"]
        spec = next(s for s in CATALOG if s.id == test["Id"])
        assert all(m.control in test["ResultDetail"]["TestDescription"] for m in spec.mappings)


def test_source_card_names_the_checks_module_and_line() -> None:
    """ScriptBlockFile (Maester's "Source" card) points at the function that judged the check."""
    checks = registry()
    for test in load(report())["Tests"]:
        where, _, name = test["ScriptBlockFile"].partition(" ")
        path, _, line = where.rpartition(":")
        fn = checks[test["Id"]]
        assert name == f"({fn.__name__})"
        source = (ROOT / path).read_text(encoding="utf-8").splitlines()
        assert source[int(line) - 1].startswith(f"def {fn.__name__}("), test["ScriptBlockFile"]


# Issue 29, item 13: remark-gfm (Maester's report) turns bare URLs, www. names and mailto: into links.
GFM_AUTOLINK = re.compile(r"(?i)(https?://|www\.|mailto:|xmpp:)")


def test_urls_in_tenant_text_are_defanged_and_cannot_become_links() -> None:
    hostile = "CA009 see https://login.evil.example/reset?u=1 or WWW.evil.example or mailto:help@evil.example"
    rep = report(
        {
            "BG.CA.3": Outcome.failed(hostile, offenders=[f"{hostile} (8a7b)"]),
            "BG.AL.5": Outcome(Status.NOT_APPLICABLE, hostile),
        }
    )
    tests = {t["Id"]: t for t in load(rep)["Tests"]}
    failed, skipped = tests["BG.CA.3"]["ResultDetail"], tests["BG.AL.5"]["ResultDetail"]
    for text in (failed["TestResult"], skipped["TestResult"], skipped["SkippedReason"]):
        assert not GFM_AUTOLINK.search(text), text
        assert "hxxps://login\\[.]evil\\[.]example/reset?u=1" in text  # still readable, as "[.]"
        assert "WWW\\[.]evil.example" in text
        assert "mailto\\[:]help@evil" in text
        assert "<a " not in _html(text)


def test_the_catalogs_own_reference_links_stay_links() -> None:
    """Only the tenant's text is defanged: the remediation links the catalog cites still work."""
    test = next(t for t in load(report())["Tests"] if t["Id"] == "BG.CA.3")
    spec = next(s for s in CATALOG if s.id == "BG.CA.3")
    assert spec.references
    assert all(url in test["ResultDetail"]["TestDescription"] for url in spec.references)
    assert test["HelpUrl"] == spec.references[-1]
