"""The audit as a console table with one summary line, safe to print whatever the tenant named its objects.

Every cell is tenant-influenced (a summary quotes policy names, an error quotes a service's message), so
each passes three filters in this order: secret redaction (patterns match the raw text), control characters
shown as visible escapes (an `ESC[2J` in a display name must not clear the operator's screen), and Rich
markup escaping (a name like `[red]OK[/red]` must not restyle or hide a finding).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drill.audit.model import Status
from drill.evidence._sanitize import clean_text
from drill.secrets import redact_text

if TYPE_CHECKING:
    from rich.console import Console

    from drill.audit.report import AuditReport

_STYLE = {
    Status.PASSED: "green",
    Status.FAILED: "bold red",
    Status.ERROR: "bold magenta",
    Status.WARNING: "yellow",
    Status.NOT_APPLICABLE: "dim",
}
_LABEL = {
    Status.PASSED: "PASS",
    Status.FAILED: "FAIL",
    Status.ERROR: "ERROR",
    Status.WARNING: "WARN",
    Status.NOT_APPLICABLE: "N/A",
}


def safe(text: object) -> str:
    """Redacted, control-free, markup-inert text for a Rich cell or line."""
    from rich.markup import escape

    return escape(clean_text(redact_text(str(text))))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def summary_line(report: AuditReport) -> str:
    """e.g. "AUDIT FAIL: 37 passed, 1 failed, 1 warning, 0 errors — exit 1" (plain text, no markup)."""
    counts = report.summary()
    parts = [
        f"{counts[Status.PASSED]} passed",
        f"{counts[Status.FAILED]} failed",
        _plural(counts[Status.WARNING], "warning"),
        _plural(counts[Status.ERROR], "error"),
    ]
    if counts[Status.NOT_APPLICABLE]:
        parts.append(f"{counts[Status.NOT_APPLICABLE]} not applicable")
    verdict = "PASS" if report.passed else "FAIL"
    return f"AUDIT {verdict}: {', '.join(parts)} — exit {report.exit_code()}"


def render(report: AuditReport, console: Console | None = None, *, offenders: int = 5) -> None:
    """Print the table (id, severity, status, title, summary, first offenders) and the summary line."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(
        title=safe(
            f"Break-glass posture audit — tenant {report.tenant_id} — playbook {report.playbook_name}"
        ),
        caption=safe(f"read {report.read_at.isoformat()}"),
    )
    for column in ("Id", "Severity", "Status", "Title", "Summary"):
        table.add_column(column, overflow="fold")
    for result in report.results:
        outcome = result.outcome
        lines = [safe(outcome.summary)]
        shown = outcome.offenders[:offenders]
        lines += [f"• {safe(o)}" for o in shown]
        if len(outcome.offenders) > len(shown):
            lines.append(f"… and {len(outcome.offenders) - len(shown)} more")
        style = _STYLE[outcome.status]
        table.add_row(
            safe(result.spec.id),
            safe(result.spec.severity.value),
            f"[{style}]{_LABEL[outcome.status]}[/{style}]",
            safe(result.spec.title),
            "\n".join(lines),
        )
    console.print(table)
    for note in report.notes:
        console.print(f"note: {safe(note)}")
    style = "bold green" if report.passed else "bold red"
    console.print(f"[{style}]{safe(summary_line(report))}[/{style}]")
