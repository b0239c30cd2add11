"""Markdown for tickets: verdict first, then timings, then every check, with tenant strings neutralised.

Tenant-supplied text is put in code spans (backticks stripped) so a display name cannot become a link,
an image or a heading in the ticket system that renders it.
"""

from __future__ import annotations

from datetime import datetime

from drill.evidence._redact import redacted_record
from drill.evidence.model import DrillRecord
from drill.evidence.timeline import effective_timings, sla_limit

_ICON = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "skipped": "SKIPPED"}
_TIMINGS = (
    ("signin_s", "Sign-in"),
    ("ingestion_latency_s", "Ingestion latency"),
    ("time_to_row_s", "Time to log row"),
    ("detection_lag_s", "Runner detection lag"),
    ("time_to_alert_s", "Time to alert email"),
)


def code(text: object) -> str:
    """An inline code span holding arbitrary text safely (no backticks, no newlines, no pipes)."""
    value = str(text).replace("`", "'").replace("\r", " ").replace("\n", " ").replace("|", "/")
    return f"`{value}`" if value else "—"


def _utc(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if value else "—"


def render(record: DrillRecord) -> str:
    record = redacted_record(record)
    timings = effective_timings(record)
    lines = [
        f"## Break-glass drill: **{record.verdict.value}**",
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
            lines.append(f"| | {code(check.id)} | {_ICON[check.status.value]} | {code(check.reason)} |")
    if record.findings:
        lines += ["", "Findings:", ""]
        lines += [f"- **{f.severity}** {code(f.title)}: {code(f.detail)}" for f in record.findings]
    return "\n".join(lines) + "\n"
