"""Markdown for tickets: verdict first, then timings, then every check, with tenant strings neutralised.

Tenant-supplied text is put in code spans (CommonMark interprets nothing inside one) after the shared
sanitiser has made control characters and ANSI escapes visible, so a display name can become neither a
link, an image, raw HTML nor a heading, nor clear or recolour the terminal of whoever `cat`s the ticket.
Anything printed outside a code span goes through `markdown_escape`.
"""

from __future__ import annotations

from datetime import datetime

from drill.evidence._redact import redacted_record
from drill.evidence._sanitize import markdown_code, markdown_escape
from drill.evidence.model import DrillRecord, replacement_note
from drill.evidence.timeline import effective_timings, sla_limit

_ICON = {
    "pass": "PASS",
    "fail": "FAIL",
    "error": "ERROR",
    "skipped": "SKIPPED",
    "not_observable": "NOT OBSERVABLE",
}
_TIMINGS = (
    ("signin_s", "Sign-in"),
    ("ingestion_latency_s", "Ingestion latency"),
    ("time_to_row_s", "Time to log row"),
    ("detection_lag_s", "Runner detection lag"),
    ("time_to_alert_s", "Time to alert email"),
)


def code(text: object) -> str:
    """An inline code span holding arbitrary text safely (no backticks, newlines, pipes or controls)."""
    return markdown_code(text)


def _utc(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if value else "—"


def render(record: DrillRecord, *, attestation: str | None = None) -> str:
    """The ticket text; `attestation` says who signed the bundle, when the caller verified it."""
    record = redacted_record(record)
    timings = effective_timings(record)
    lines = [
        f"## Break-glass drill: **{markdown_escape(record.verdict.value)}**",
        "",
        f"Reason: {code(record.reason)}",
        "",
        f"- Drill: {code(record.drill_id)}",
        f"- Account: {code(record.account_name)} ({code(record.account_upn or '')})",
        f"- Tenant: {code(record.tenant_domain or '')} {code(record.tenant_id or '')}",
        f"- Started / ended (UTC): {_utc(record.started_at)} / {_utc(record.ended_at)}",
        f"- Operator: {code(record.operator.get('name') or record.operator.get('os_user') or '')}"
        + (f", witness {code(record.witness)}" if record.witness else ""),
        f"- Next due: {record.next_due.isoformat() if record.next_due else '—'}",
        f"- Browser: {_browser(record)}",
    ]
    if attestation is not None:
        lines.append(f"- Evidence: {code(attestation)}")
    lines += [
        "",
        "| Measure | Seconds | SLA |",
        "|---|---|---|",
    ]
    for name, label in _TIMINGS:
        value = getattr(timings, name)
        sla = sla_limit(record.sla, name)
        lines.append(
            f"| {label} | {'—' if value is None else f'{value:.1f}'} | {'—' if sla is None else f'{sla:g}'} |"
        )
    lines += ["", "| Step | Check | Status | Reason |", "|---|---|---|---|"]
    for step in record.steps:
        lines.append(f"| {code(step.step)} | | **{_ICON[step.status.value]}** | {code(step.reason)} |")
        for check in step.checks:
            note = replacement_note(record.steps, check)
            reason = code(check.reason) + (f" ({code(note)})" if note else "")
            lines.append(f"| | {code(check.id)} | {_ICON[check.status.value]} | {reason} |")
    if record.confirmations:
        lines += ["", "Operator confirmations after the drill:", ""]
        lines += [
            f"- **{'yes' if c.confirmed else 'NO'}** {code(c.statement)}"
            + (f": {code(c.detail)}" if c.detail else "")
            + (f" ({code(c.by)})" if c.by else "")
            for c in record.confirmations
        ]
    if record.controls:
        lines += ["", "Controls this drill evidences:", ""]
        lines += [f"- {code(c.framework)} {code(c.id)}: {code(c.title)}" for c in record.controls]
    if record.findings:
        lines += ["", "Findings:", ""]
        lines += [
            f"- **{markdown_escape(f.severity)}** {code(f.title)}: {code(f.detail)}" for f in record.findings
        ]
    return "\n".join(lines) + "\n"


def _browser(record: DrillRecord) -> str:
    """Which browser and version ran, each value as inert code."""
    b = record.browser
    if b is None:
        return "none ran"
    channel = f" (channel {code(b.channel)})" if b.channel else ""
    return f"{code(b.name)} {code(b.version)}{channel}, {code(b.chosen_by or '')}"
