"""Reading an Azure Monitor alert mail, and judging it only by what Microsoft documents of it.

Azure's email template is not public. Documented are the sender addresses, the default subject
(`Fired:Sev0 Azure Monitor Alert <rule> on <resource> ( <type> ) at <time>`, or the rule's custom subject)
and that the mail carries the common alert schema's essentials in some layout. So a mail is refused only
for what it does show: a Resolved condition, another rule's name, another account's dimension, an arrival
before the sign-in. Whether the alert covered *this* sign-in's row is settled by the alert instance in
Azure Monitor (alert_instance.py), whose evaluation window is ARM's, not a label of our own markup; the
mail's window rows are read only when the playbook gives no `monitoring:` section to read the instance.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

from drill.isotime import parse_utc

_LABELS = {
    "alert rule": "rule",
    "alert rule name": "rule",
    "alert name": "rule",
    "monitor condition": "condition",
    "fired time": "fired",
    "fired date time": "fired",
    "resolved time": "resolved",
    "window start time": "window_start",
    "search interval start time": "window_start",
    "window end time": "window_end",
    "search interval end time": "window_end",
    "alert id": "alert_id",
}
# The documented default subject; a custom subject replaces it whole (alerts-customize-email-subject).
_SUBJECT = re.compile(
    r"^(?P<condition>Fired|Resolved):Sev\d+ Azure Monitor Alert (?P<rule>.+) on (?P<resource>\S+)"
    r"(?: \(.*\))? at (?P<time>.+)$"
)
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


class _Cells(HTMLParser):
    """Collects each table row's cell texts and every link."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.links: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _from_schema(text: str) -> dict[str, Any] | None:
    """The common alert schema as JSON in the body (a Logic App or a plain-text relay forwards it so)."""
    start = text.find("{")
    if start < 0 or "azureMonitorCommonAlertSchema" not in text:
        return None
    try:
        doc = json.loads(text[start : text.rfind("}") + 1])
    except ValueError:
        return None
    data = doc.get("data") or {}
    ess, cond = data.get("essentials") or {}, ((data.get("alertContext") or {}).get("condition") or {})
    dims: dict[str, str] = {}
    for item in cond.get("allOf") or []:
        for d in item.get("dimensions") or []:
            dims[str(d.get("name"))] = str(d.get("value"))
    for d in cond.get("dimensions") or []:
        dims[str(d.get("name"))] = str(d.get("value"))
    return {
        "rule": ess.get("alertRule"),
        "condition": ess.get("monitorCondition"),
        "fired": ess.get("firedDateTime"),
        "resolved": ess.get("resolvedDateTime"),
        "window_start": cond.get("windowStartTime"),
        "window_end": cond.get("windowEndTime"),
        "alert_id": ess.get("alertId"),
        "dimensions": dims,
        "links": [],
    }


def parse_alert_mail(body: str, subject: str = "") -> dict[str, Any]:
    """The alert fields a mail shows (its body's labels or schema JSON, else its subject); missing: None."""
    fields = _from_body(body)
    shown = _SUBJECT.match(subject.strip())
    if shown:
        fields["condition"] = fields.get("condition") or shown["condition"]
        fields["rule"] = fields.get("rule") or shown["rule"]
    return fields


def _from_body(body: str) -> dict[str, Any]:
    schema = _from_schema(body)
    if schema is not None:
        return schema
    cells = _Cells()
    cells.feed(body)
    out: dict[str, Any] = dict.fromkeys(set(_LABELS.values()))
    out["dimensions"] = {}
    for row in cells.rows:
        if len(row) < 2:
            continue
        label, value = row[0].strip().rstrip(":").strip(), row[1].strip()
        low = label.lower()
        if low.startswith("dimension:"):
            out["dimensions"][label.split(":", 1)[1].strip()] = value
        elif low == "dimensions":
            for part in value.split(","):
                if "=" in part:
                    name, val = part.split("=", 1)
                    out["dimensions"][name.strip()] = val.strip()
        elif low in _LABELS and out.get(_LABELS[low]) is None:
            out[_LABELS[low]] = value
    out["links"] = [link for link in cells.links if "search" in link.lower() or "LogsBlade" in link][:3]
    return out


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return parse_utc(str(value))
    except ValueError:
        return None


def judge(
    fields: dict[str, Any],
    *,
    received: datetime,
    signed_in: datetime,
    rules: list[str],
    account_ids: set[str],
) -> str | None:
    """None when nothing the mail shows contradicts this drill's alert; otherwise why (one sentence)."""
    condition = str(fields.get("condition") or "")
    if condition.lower() == "resolved":
        return (
            f"a Resolved notification of rule {fields.get('rule')!r} (fired {fields.get('fired')}): it "
            "says an earlier alert ended, not that this sign-in was caught"
        )
    if condition and condition.lower() != "fired":
        return f"the mail's monitor condition is {condition!r}, not Fired"
    rule = str(fields.get("rule") or "")
    if rule and rules and rule.lower() not in {r.lower() for r in rules}:
        return f"rule {rule!r} is not one of the playbook's alert.rules {rules}"
    if received < signed_in:
        return f"received {received.isoformat()}, before the sign-in at {signed_in.isoformat()}"
    people = {
        name: value
        for name, value in (fields.get("dimensions") or {}).items()
        if _GUID.match(str(value)) or "@" in str(value)
    }
    if people and not {str(v).lower() for v in people.values()} & account_ids:
        named = ", ".join(f"{k}={v}" for k, v in people.items())
        return f"it fired for {named}, another account's row, not this account's"
    return None


def window_covers(fields: dict[str, Any], row_time: datetime) -> str | None:
    """Without the alert instance (no `monitoring:`), whether the window the mail shows covers the row.

    Window rows are not documented mail content: a mail without them cannot be tied to the row here.
    """
    start, end = _when(fields.get("window_start")), _when(fields.get("window_end"))
    if start is None or end is None:
        return (
            "the mail shows no evaluation window, and without the playbook's monitoring: section the drill "
            "cannot read the alert instance that would tie it to this sign-in; add monitoring: "
            "{subscription_id, resource_group, workspace_resource_id, rules}"
        )
    # Azure's window bounds are the evaluation's; a second of rounding either side is not a miss.
    if not start - timedelta(seconds=1) <= row_time <= end + timedelta(seconds=1):
        return (
            f"its window {start.isoformat()} to {end.isoformat()} does not cover the sign-in row's "
            f"TimeGenerated {row_time.isoformat()}: it fired for other rows"
        )
    return None
