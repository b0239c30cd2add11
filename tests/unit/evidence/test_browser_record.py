"""The record says which browser drove the sign-in and its version; HTML and Markdown show it."""

from __future__ import annotations

import json

from records_support import healthy

from drill.evidence.html import render_report
from drill.evidence.manifest import SHIPPED_SCHEMA, report_schema
from drill.evidence.markdown import render
from drill.evidence.model import BrowserRun


def test_the_record_and_its_renderings_say_which_browser_ran() -> None:
    record = healthy()
    record.browser = BrowserRun(
        name="Microsoft Edge",
        channel="msedge",
        executable="/opt/microsoft/msedge/msedge",
        chosen_by="playbook browser.channel",
        version="Chrome/156.0.3000.1",
        user_agent="Mozilla/5.0 ... Edg/156.0.3000.1",
    )
    md = render(record)
    assert (
        "- Browser: `Microsoft Edge` `Chrome/156.0.3000.1` (channel `msedge`), `playbook browser.channel`"
        in md
    )
    html = render_report(record)
    assert "Microsoft Edge Chrome/156.0.3000.1 (channel msedge), playbook browser.channel" in html
    record.browser = None
    assert "- Browser: none ran" in render(record)
    assert "BrowserRun" in json.loads(SHIPPED_SCHEMA.read_text(encoding="utf-8"))["$defs"]
    assert SHIPPED_SCHEMA.read_bytes() == report_schema()  # regenerated with the model
