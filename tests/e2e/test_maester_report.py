"""Our maester.json rendered by Maester's own report page, in Chromium: what a Maester user sees.

The template is Maester's ReportTemplate.html (tests/e2e/maester/README.md: origin, commit, licence),
filled the way Get-MtHtmlReport fills it. One page shows every check: the print view lists each test with
its status and renders its description and result through Maester's react-markdown and remark-gfm, the
Excel view shows the raw text, and a test's sheet shows its Source card. The results come from judging a
demo tenant with a failing policy whose name is hostile, a licensed account (Investigate), an unread fact
(Error) and the not-applicable Sentinel check (Skipped), so every status Maester knows is on the page.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from drill.audit.catalog import CATALOG
from drill.audit.judge import judge
from drill.audit.maester import build
from drill.audit.report import AuditReport
from tests.unit.audit import audit_support as s

pytestmark = [pytest.mark.e2e]

TEMPLATE = Path(__file__).parent / "maester" / "ReportTemplate.html"
# Tenant text as a hostile admin could name a policy: emphasis, a link, HTML, the script's own end tag.
HOSTILE = "CA001 **bold** [login](https://evil.example/x) <img src=x onerror=alert(1)></script><b>x</b>"
STATUS_TEXT = {"Passed": "Passed", "Failed": "Failed", "Error": "Error", "Investigate": "Investigate",
               "Skipped": "Skipped", "NotRun": "Not tested"}  # fmt: skip


def fill(template: str, results: dict[str, Any]) -> str:
    """Get-MtHtmlReport: the compact JSON replaces the placeholder object of the last variable declared
    before the `EndOfJson:"EndOfJson"}` (or backtick) marker, up to the marker's end."""
    end = re.search(r'EndOfJson:(?:"EndOfJson"|`EndOfJson`)\}', template)
    assert end is not None, "the template has no EndOfJson marker"
    start = list(re.finditer(r"(?:var|const|let)\s+\w+\s*=", template[: end.start()]))[-1]
    payload = json.dumps(results, separators=(",", ":"), ensure_ascii=False)
    return template[: start.end()] + payload + template[end.end() :]


def mixed_report() -> AuditReport:
    facts, pb = s.healthy_facts(), s.demo_playbook()
    policy = s.policy(facts, s.CA001)
    policy["displayName"] = HOSTILE
    policy["conditions"]["users"]["excludeGroups"] = []
    s.account(facts, "ea01").licenses = [
        {"skuId": "00000000-0000-4000-8000-0000000000e5", "skuPartNumber": "SPE_E5"}
    ]
    facts.unread["domains"] = "Graph answered 403 Forbidden"
    results = judge(facts, pb)
    return AuditReport.from_facts(
        facts, "demo.yaml", results, finished_at=facts.read_at + timedelta(seconds=9)
    )


async def _render(path: Path) -> dict[str, Any]:
    from drill.browser.launch import chromium

    seen: dict[str, Any] = {"dialogs": []}
    async with chromium() as session:
        page = session.context.pages[0]
        page.on("dialog", lambda d: (seen["dialogs"].append(d.message), asyncio.ensure_future(d.dismiss())))
        await page.goto(f"{path.as_uri()}#/view/print")
        await page.wait_for_selector("[id='detail-BG.PROC.3']", timeout=30_000)
        seen["rows"] = await page.eval_on_selector_all(
            ".print-content table tbody tr",
            "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))",
        )
        seen["details"] = await page.eval_on_selector_all(
            "[id^='detail-']", "ds => ds.map(d => [d.id.slice(7), d.innerText])"
        )
        seen["proc1_code"] = await page.eval_on_selector_all(
            "[id='detail-BG.PROC.1'] code", "cs => cs.map(c => c.innerText)"
        )
        seen["injected"] = await page.evaluate(
            """() => ({links: [...document.querySelectorAll('a[href]')].map(a => a.href)
                          .filter(h => h.includes('evil')),
                       images: document.querySelectorAll('img[src="x"]').length,
                       bold: [...document.querySelectorAll('strong, b')].filter(b => b.innerText === 'bold'
                          || b.innerText === 'x').length})"""
        )
        await page.goto(f"{path.as_uri()}#/view/excel")
        await page.wait_for_selector("table tbody tr", timeout=30_000)
        seen["excel"] = await page.eval_on_selector_all(
            "table tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText))"
        )
        await page.goto(f"{path.as_uri()}#/")
        await page.get_by_text("Each account's last PASS drill is within the cycle", exact=True).first.click()
        source = page.get_by_text("Source", exact=True).locator("xpath=..")
        await source.wait_for(timeout=30_000)
        seen["source"] = await source.inner_text()
    return seen


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    results = build(mixed_report(), tenant_name="contoso.onmicrosoft.com")
    path = tmp_path_factory.mktemp("maester") / "report.html"
    path.write_text(fill(TEMPLATE.read_text(encoding="utf-8"), results), encoding="utf-8")
    return results, asyncio.run(_render(path))


def test_every_check_shows_with_its_status(rendered: tuple[dict[str, Any], dict[str, Any]]) -> None:
    results, seen = rendered
    rows = {row[0]: row for row in seen["rows"]}
    assert set(rows) == {spec.id for spec in CATALOG}
    for test in results["Tests"]:
        row = rows[test["Id"]]
        assert row[1] == test["Title"]
        assert STATUS_TEXT[test["Result"]] in row[3], row
    shown = {r["Result"] for r in results["Tests"]}
    assert shown == {"Passed", "Failed", "Error", "Investigate", "Skipped"}  # every status is on the page


def test_our_text_shows_no_escape_characters(rendered: tuple[dict[str, Any], dict[str, Any]]) -> None:
    results, seen = rendered
    assert seen["proc1_code"] == ["drill run"]  # the catalog's Markdown, rendered as code
    details = dict(seen["details"])
    assert set(details) == {t["Id"] for t in results["Tests"]}
    for check_id, text in details.items():
        assert "\\" not in text, (check_id, text)
    # The Excel view shows the raw text: no backslash, but where the hostile name itself needs one.
    for row in seen["excel"]:
        assert not any("\\" in cell for cell in row if "bold" not in cell), row
    proc1 = next(t for t in results["Tests"] if t["Id"] == "BG.PROC.1")
    assert proc1["ScriptBlockFile"].startswith("drill/audit/checks_procedures.py:")
    assert seen["source"].split() == ["Source", *proc1["ScriptBlockFile"].split()]  # the Source card


def test_hostile_tenant_text_is_shown_as_text(rendered: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, seen = rendered
    assert seen["injected"] == {"links": [], "images": 0, "bold": 0}
    assert seen["dialogs"] == []
    ca3 = dict(seen["details"])["BG.CA.3"]
    assert (
        "CA001 **bold** [login](hxxps://evil[.]example/x) <img src=x onerror=alert(1)></script><b>x</b>"
        in ca3
    )
