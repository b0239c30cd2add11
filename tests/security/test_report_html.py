"""report.html from a hostile tenant renders inert in Chromium: no script runs, no request leaves the page.

Display names, UPNs, policy names and mail subjects are tenant-supplied. The page is loaded twice: as
written (escaping + CSP) and with its CSP removed, so escaping alone is shown to hold.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drill.evidence.bundle import BundleWriter
from drill.evidence.model import Check, DrillRecord, Finding, Status, StepResult, Timings, Verdict
from drill.evidence.pdf import CHROMIUM_ARGS
from drill.evidence.signing import Signer

T0 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
PAYLOADS = (
    "<script>window.__pwned='script'</script>",
    '"><img src=x onerror="window.__pwned=\'img\'">',
    "<a href=\"javascript:window.__pwned='link'\">click me</a>",
    "javascript:window.__pwned='bare'",
    "<svg onload=\"window.__pwned='svg'\"></svg>",
    '<iframe src="https://evil.example/"></iframe>',
    '<img src="https://evil.example/pixel.png">',
    "<style>@import url(https://evil.example/x.css);</style>",
    "</pre></td></tr></table><script>window.__pwned='breakout'</script>",
    "{{ 7*7 }}{% raw %}",
)


def hostile_record() -> DrillRecord:
    p = " ".join(PAYLOADS)
    step = StepResult(
        step="signin",
        title=f"Sign-in {PAYLOADS[0]}",
        status=Status.FAIL,
        reason=f"AADSTS50076 for {PAYLOADS[1]}",
        started_at=T0,
        ended_at=T0 + timedelta(seconds=9),
        duration_s=9,
        checks=[
            Check(
                id="token_claims",
                title=PAYLOADS[2],
                status=Status.FAIL,
                reason=PAYLOADS[3],
                evidence={"upn": PAYLOADS[1], "displayName": PAYLOADS[0], "policies": list(PAYLOADS)},
            )
        ],
        evidence={"subject": PAYLOADS[8], "link": PAYLOADS[3]},
    )
    return DrillRecord(
        drill_id="drill-hostile",
        verdict=Verdict.FAIL,
        reason=f"signin: {p}",
        tenant_id=PAYLOADS[4],
        tenant_domain=PAYLOADS[5],
        account_name=f"bg{PAYLOADS[0]}",
        account_upn=f"{PAYLOADS[1]}@contoso.example",
        account_object_id=PAYLOADS[6],
        key={"model": PAYLOADS[7]},
        operator={"os_user": "alice", "name": PAYLOADS[2]},
        witness=PAYLOADS[9],
        workstation={"host": PAYLOADS[4]},
        started_at=T0,
        ended_at=T0 + timedelta(seconds=20),
        steps=[step],
        timings=Timings(signin_started_at=T0, signin_completed_at=T0 + timedelta(seconds=9), signin_s=9),
        findings=[Finding(severity="critical", title=PAYLOADS[0], detail=PAYLOADS[1], step=PAYLOADS[2])],
        sla={"signin_s": 60},
    )


async def _load_all(pages: dict[str, str]) -> dict[str, dict[str, object]]:
    """Load each HTML document in its own fresh context of one Chromium; record what it tried to do."""
    from playwright.async_api import async_playwright

    from drill.browser.locate import choose_browser

    results: dict[str, dict[str, object]] = {}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(choose_browser(headless=True).executable), args=list(CHROMIUM_ARGS)
        )
        try:
            for name, html in pages.items():
                context = await browser.new_context()
                results[name] = await _load(context, html)
                await context.close()
        finally:
            await browser.close()
    return results


async def _load(context: object, html: str) -> dict[str, object]:
    requests: list[str] = []
    console: list[str] = []
    dialogs: list[str] = []
    page = await context.new_page()  # type: ignore[attr-defined]
    await page.add_init_script("window.__pwned = null;")
    page.on("console", lambda m: console.append(m.text))
    page.on("dialog", lambda d: dialogs.append(d.message))

    async def record(route: object) -> None:
        requests.append(route.request.url)  # type: ignore[attr-defined]
        await route.abort()  # type: ignore[attr-defined]

    await page.route("**/*", record)
    await page.route(
        "https://drill.invalid/report.html", lambda r: r.fulfill(body=html, content_type="text/html")
    )
    await page.goto("https://drill.invalid/report.html")
    await page.wait_for_load_state("load")
    # click every link: a javascript: href that survived escaping would run here
    for link in await page.query_selector_all("a"):
        await link.click(timeout=2000, no_wait_after=True)
    await page.wait_for_timeout(200)
    return {
        "pwned": await page.evaluate("window.__pwned"),
        "scripts": await page.evaluate("document.scripts.length"),
        "handlers": await page.evaluate(
            "[...document.querySelectorAll('*')].filter(e => [...e.attributes]"
            ".some(a => a.name.startsWith('on'))).length"
        ),
        "iframes": await page.evaluate(
            "document.querySelectorAll('iframe, img[src=x], a[href^=javascript]').length"
        ),
        "text": await page.evaluate("document.body.innerText"),
        "requests": [u for u in requests if u != "https://drill.invalid/report.html"],
        "console": console,
        "dialogs": dialogs,
    }


@pytest.fixture(scope="module")
def hostile_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reports = tmp_path_factory.mktemp("hostile") / "reports"
    writer = BundleWriter(reports, Signer.generate(), pdf=None, history=True)
    record = hostile_record()
    writer.begin(record)
    bundle = writer.finalize(record)
    assert bundle.history_page is not None
    return bundle.path


@pytest.fixture(scope="module")
def hostile_html(hostile_bundle: Path) -> str:
    return (hostile_bundle / "report.html").read_text(encoding="utf-8")


CONTROL = (
    "<html><body><script>window.__pwned='raw'</script><img src='https://evil.example/p.png'></body></html>"
)


@pytest.fixture(scope="module")
def loaded(hostile_html: str) -> dict[str, dict[str, object]]:
    from drill.evidence.html import render_history

    stripped, n = re.subn(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", hostile_html)
    assert n == 1
    entries = [
        {
            "drill_id": PAYLOADS[0],
            "started_at": PAYLOADS[1],
            "verdict": PAYLOADS[2],
            "next_due": PAYLOADS[3],
            "timings": {"time_to_row_s": 120.0, "time_to_alert_s": 300.0},
        },
    ]
    pages = {
        "as-written": hostile_html,
        "without-csp": stripped,
        "script-slipped-in": hostile_html.replace("<body>", "<body><script>window.__pwned='raw'</script>", 1),
        "history": render_history(PAYLOADS[0], entries),
        "control": CONTROL,
    }
    return asyncio.run(_load_all(pages))


@pytest.mark.parametrize("variant", ["as-written", "without-csp"])
def test_hostile_tenant_strings_render_inert(loaded: dict[str, dict[str, object]], variant: str) -> None:
    """Escaping alone (without-csp) and escaping plus CSP (as-written) both keep the page inert."""
    seen = loaded[variant]
    assert seen["requests"] == []
    assert seen["pwned"] is None
    assert seen["scripts"] == 0
    assert seen["handlers"] == 0
    assert seen["iframes"] == 0
    assert seen["dialogs"] == []
    # the payloads are shown to the auditor as text, not swallowed
    text = str(seen["text"])
    assert "<script>window.__pwned='script'</script>" in text
    assert "{{ 7*7 }}" in text


def test_csp_is_strict_and_matches_the_inline_style(hostile_html: str) -> None:
    import base64
    import hashlib

    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', hostile_html)
    assert csp is not None
    policy = csp.group(1)
    assert "default-src 'none'" in policy
    assert "script-src 'none'" in policy
    assert "unsafe-inline" not in policy
    style = re.search(r"<style>(.*?)</style>", hostile_html, re.S)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy
    assert "<script" not in hostile_html.lower().replace("&lt;script", "")


def test_csp_alone_blocks_a_script_that_slipped_in(loaded: dict[str, dict[str, object]]) -> None:
    """Defence in depth: were escaping ever broken, the CSP would still stop the script."""
    assert loaded["script-slipped-in"]["pwned"] is None


def test_history_page_is_inert_too(loaded: dict[str, dict[str, object]]) -> None:
    seen = loaded["history"]
    assert seen["pwned"] is None
    assert seen["scripts"] == 0
    assert seen["requests"] == []


def test_the_harness_does_see_a_script_that_runs(loaded: dict[str, dict[str, object]]) -> None:
    """Control: without CSP and without escaping, the same harness reports the script and the request."""
    assert loaded["control"]["pwned"] == "raw"
    assert "https://evil.example/p.png" in loaded["control"]["requests"]  # type: ignore[operator]


def test_bundle_of_a_hostile_tenant_holds_no_secret_shapes(hostile_bundle: Path) -> None:
    from drill.evidence.scan import scan_folder
    from drill.evidence.verify import verify_bundle

    assert scan_folder(hostile_bundle) == []
    assert verify_bundle(hostile_bundle).status == "VALID"
