"""report.html and the account history page: self-contained, escaped, and inert.

Every tenant-supplied string (display names, UPNs, policy names, mail subjects) reaches the page through
Jinja2 with autoescape on; there is no script at all, and a strict Content-Security-Policy (no script
source, styles only by hash, images only as data: URIs) makes the page inert even if escaping ever failed.
Screenshots are embedded as data: URIs so the file stands alone and loads nothing. Every value printed
also passes the shared sanitiser (Jinja `finalize`), so control characters and terminal escapes show as
visible text rather than reaching the page, the PDF or a terminal that displays the file.
The history page reads ledger lines, which may be hand-edited or written by an older version: each line is
reduced to plain display values first, so a missing or odd field shows as "—" instead of crashing the page.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from drill.evidence import timeline
from drill.evidence._redact import redacted_record
from drill.evidence._sanitize import clean_text
from drill.evidence.audit_record import AuditRecord
from drill.evidence.card import Card
from drill.evidence.model import DrillRecord, replacement_note

TEMPLATES = Path(__file__).parent / "templates"
MAX_EXCERPT = 6000
MAX_EMBED = 4 * 1024 * 1024
SAFE_SHOT = re.compile(r"screenshots/[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

MEASURES = (
    ("signin_s", "Sign-in duration"),
    ("ingestion_latency_s", "Ingestion latency (TimeGenerated − CreatedDateTime)"),
    ("time_to_row_s", "Time to log row (sign-in → row seen)"),
    ("detection_lag_s", "Runner detection lag (row)"),
    ("time_to_alert_s", "Time to alert email (sign-in → received)"),
    ("alert_detection_lag_s", "Runner detection lag (alert)"),
    ("total_s", "Whole drill"),
)
EVENTS = (
    ("Sign-in started", "signin_started_at"),
    ("Sign-in completed", "signin_completed_at"),
    ("Log row created (CreatedDateTime)", "row_created_at"),
    ("Log row ingested (TimeGenerated)", "row_ingested_at"),
    ("Log row seen by the runner", "row_seen_at"),
    ("Alert email received", "alert_received_at"),
    ("Alert email seen by the runner", "alert_seen_at"),
)


def _utc(value: Any) -> str:
    if not isinstance(value, datetime):
        return "—"
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return str(value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]) + " UTC"


def _secs(value: Any) -> str:
    value = timeline.finite(value)
    if value is None:
        return "—"
    if value < 120:
        return f"{value:.1f} s"
    minutes, seconds = divmod(value, 60)
    return f"{int(minutes)} min {seconds:.0f} s"


def _pretty(value: Any) -> str:
    text = json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)
    if len(text) > MAX_EXCERPT:
        text = text[:MAX_EXCERPT] + f"\n… ({len(text) - MAX_EXCERPT} more characters in report.json)"
    return text


def _kv(value: Any) -> str:
    if not isinstance(value, dict) or not value:
        return "—"
    parts = []
    for key, item in value.items():
        shown = (
            item
            if isinstance(item, str | int | float | bool) or item is None
            else json.dumps(item, default=str)
        )
        parts.append(f"{key}: {shown}")
    return " · ".join(parts)


def _finalize(value: Any) -> Any:
    """Applied to every `{{ ... }}` before autoescape; our own `|safe` markup (CSS, CSP) is left as it is."""
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    return clean_text(value, multiline=True)


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.filters.update(utc=_utc, secs=_secs, pretty=_pretty, kv=_kv)
    return env


@cache
def _css(name: str = "report.css") -> tuple[str, str]:
    css = (TEMPLATES / name).read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    csp = (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; "
        "base-uri 'none'; form-action 'none'; object-src 'none'; script-src 'none'"
    )
    return css, csp


@dataclass(frozen=True)
class Shot:
    name: str
    data_uri: str


def _embed(path: Path) -> str | None:
    if not path.is_file() or path.stat().st_size > MAX_EMBED:
        return None
    data = path.read_bytes()
    if data.startswith(b"\x89PNG"):
        mime = "image/png"
    elif data.startswith(b"\xff\xd8"):
        mime = "image/jpeg"
    else:
        return None
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _shots(record: DrillRecord, bundle_dir: Path | None) -> dict[str, list[Shot]]:
    """Screenshots by step; those no step claims (taken just before a crash) under the key ""."""
    out: dict[str, list[Shot]] = {}
    if bundle_dir is None:
        return out
    claimed = set()
    for step in record.steps:
        for rel in step.screenshots:
            claimed.add(rel)
            uri = _embed(bundle_dir / rel) if SAFE_SHOT.fullmatch(rel) else None
            if uri is not None:
                out.setdefault(step.step, []).append(Shot(rel.removeprefix("screenshots/"), uri))
    folder = bundle_dir / "screenshots"
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        rel = f"screenshots/{path.name}"
        uri = _embed(path) if rel not in claimed and SAFE_SHOT.fullmatch(rel) else None
        if uri is not None:
            out.setdefault("", []).append(Shot(path.name, uri))
    return out


def render_report(record: DrillRecord, bundle_dir: Path | None = None, fingerprint: str = "—") -> str:
    """The auditor's page: verdict at a glance, then the timeline against the SLA, then every check."""
    record = redacted_record(record)
    css, csp = _css()
    t = record.timings
    return (
        _env()
        .get_template("report.html.j2")
        .render(
            r=record,
            css=css,
            csp=csp,
            tl=timeline.build(record),
            measures=[
                (label, getattr(t, name), timeline.sla_limit(record.sla, name)) for name, label in MEASURES
            ],
            events=[(label, getattr(t, name)) for label, name in EVENTS],
            shots=_shots(record, bundle_dir),
            fingerprint=fingerprint,
            generated=datetime.now(UTC),
            proof=lambda check: replacement_note(record.steps, check),
        )
    )


def render_audit(record: AuditRecord, fingerprint: str = "—") -> str:
    """The auditor's page of a posture audit: verdict, drift, then every control with its mappings and
    the (already redacted) objects it was judged on, grouped by area in catalogue order."""
    css, csp = _css()
    areas: dict[str, list[Any]] = {}
    for check in record.checks:
        areas.setdefault(check.area, []).append(check)
    return (
        _env()
        .get_template("audit.html.j2")
        .render(
            r=record,
            css=css,
            csp=csp,
            areas=list(areas.items()),
            fingerprint=fingerprint,
            generated=datetime.now(UTC),
        )
    )


def render_card(card: Card, printed: date) -> str:
    """The one-page emergency card (`drill card`): the card's own text, its version code, the print date."""
    css, csp = _css("card.css")
    view = {**card.content, "code": card.code}
    return _env().get_template("card.html.j2").render(c=view, css=css, csp=csp, printed=printed.isoformat())


HISTORY_METRICS = {
    "time_to_row_s": "#0969da",
    "ingestion_latency_s": "#8250df",
    "time_to_alert_s": "#cf222e",
    "signin_s": "#1a7f37",
}


HISTORY_LABELS = {
    "time_to_row_s": "time to log row",
    "ingestion_latency_s": "ingestion latency",
    "time_to_alert_s": "time to alert",
    "signin_s": "sign-in",
}


@dataclass(frozen=True)
class HistoryRow:
    """One ledger line as the history table shows it: text and numbers only, "—" where the line has none."""

    started_at: str
    drill_id: str
    verdict: str
    time_to_row_s: float | None
    time_to_alert_s: float | None
    next_due: str


def _field(entry: dict[str, Any], key: str) -> str:
    value = entry.get(key)
    return value if isinstance(value, str) and value else "—"


def _history_rows(entries: list[dict[str, Any]]) -> list[HistoryRow]:
    rows = []
    for entry in entries:
        timings = entry.get("timings")
        timings = timings if isinstance(timings, dict) else {}
        rows.append(
            HistoryRow(
                started_at=_field(entry, "started_at"),
                drill_id=_field(entry, "drill_id"),
                verdict=_field(entry, "verdict"),
                time_to_row_s=timeline.finite(timings.get("time_to_row_s")),
                time_to_alert_s=timeline.finite(timings.get("time_to_alert_s")),
                next_due=_field(entry, "next_due"),
            )
        )
    return rows


def render_history(account: str, entries: list[dict[str, Any]], left_out: int = 0) -> str:
    """One account's drills from the ledger: verdicts in a table, latencies as an inline SVG chart;
    `left_out` ledger problems (lines that did not verify) are named, not shown as drills."""
    entries = [e for e in entries if isinstance(e, dict)]
    css, csp = _css()
    return (
        _env()
        .get_template("history.html.j2")
        .render(
            account=account,
            entries=_history_rows(entries),
            left_out=left_out,
            chart=timeline.history(entries, HISTORY_METRICS),
            labels=HISTORY_LABELS,
            css=css,
            csp=csp,
            generated=datetime.now(UTC),
        )
    )
