"""The alert mail's body, in each template the simulator believes Azure may send (issue 25).

Azure Monitor's email template is not public: the labels of the `table` form follow the common alert
schema's fields and the markup is ours. The belief `alert-mail-template` serves the plausible others, so
the product is proven to judge only what is documented (sender, subject, arrival; the rule, the
condition and the alert id where the mail shows them). Declared here, served by the alert engine
(drill/sim/loganalytics/alerts.py).
"""

from __future__ import annotations

import html
from typing import Any

from drill.sim.beliefs import Belief
from drill.sim.state import SimState


def render_mail(template: str, essentials: dict[str, Any], condition: dict[str, Any],
                columns: list[dict[str, str]], rows: list[list[Any]]) -> str:  # fmt: skip
    """The notification's body in the template the belief alert-mail-template chose (DIFFERENCES.md).

    Azure's template is not public. `table`: our labelled layout (render_html). `no-window`: the same
    without the Window start/end rows. `subject-only`: the rule keeps Azure's documented default subject
    (the form's start-up hook drops custom subjects) and the body shows no alert field. `custom-minimal`:
    the custom subject and a body that says no more than that an alert fired.
    """
    if template == "no-window":
        return render_html(essentials, condition, columns, rows, window=False)
    if template in ("subject-only", "custom-minimal"):
        fired = essentials["monitorCondition"] == "Fired"
        headline = "An Azure Monitor alert was triggered" if fired else "An Azure Monitor alert was resolved"
        return (
            '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body>'
            f"<p>{html.escape(headline)}.</p>"
            "<p>You're receiving this notification as a member of an action group.</p></body></html>"
        )
    return render_html(essentials, condition, columns, rows)


def render_html(essentials: dict[str, Any], condition: dict[str, Any], columns: list[dict[str, str]],
                rows: list[list[Any]], *, window: bool = True) -> str:  # fmt: skip
    """The notification as an HTML mail in the layout of Azure Monitor's common-schema alert email.

    Labels follow the common alert schema's fields; Azure's exact markup and wording are not public
    (BELIEF): the product must read the fields, not the styling.
    """
    e = html.escape
    fired = essentials["monitorCondition"] == "Fired"
    headline = "Your Azure Monitor alert was triggered" if fired else "Your Azure Monitor alert was resolved"
    table = [
        ("Alert rule", essentials["alertRule"]),
        ("Severity", essentials["severity"]),
        ("Monitor condition", essentials["monitorCondition"]),
        ("Affected resource", essentials["alertTargetIDs"][0]),
        ("Monitoring service", essentials["monitoringService"]),
        ("Signal type", essentials["signalType"]),
        ("Fired time", essentials["firedDateTime"]),
        *([("Resolved time", essentials["resolvedDateTime"])] if essentials.get("resolvedDateTime") else []),
        ("Alert ID", essentials["alertId"]),
        *(
            [
                ("Window start time", condition["windowStartTime"]),
                ("Window end time", condition["windowEndTime"]),
            ]
            if window
            else []
        ),
        ("Window size", str(condition["windowSize"])),
        ("Threshold", f"{condition['operator']} {condition['threshold']}"),
        ("Metric value", str(condition["metricValue"])),
        *[(f"Dimension: {d['name']}", d["value"]) for d in condition["dimensions"]],
    ]
    cells = "".join(
        f'<tr><td class="label" style="font-weight:600;padding:4px 12px 4px 0">{e(k)}</td>'
        f'<td class="value" style="padding:4px 0">{e(str(v))}</td></tr>'
        for k, v in table
    )
    results = ""
    if rows:
        head = "".join(f"<th>{e(c['name'])}</th>" for c in columns[:6])
        body = "".join("<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in r[:6]) + "</tr>" for r in rows[:10])
        results = f'<h3>Search results</h3><table class="results"><tr>{head}</tr>{body}</table>'
    return (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head>'
        '<body style="font-family:Segoe UI,Helvetica,Arial,sans-serif">'
        '<div class="header" style="background:#0078d4;color:#fff;padding:16px">'
        f"<span>Microsoft Azure</span><h2>{e(headline)}</h2></div>"
        f'<table class="essentials">{cells}</table>'
        f'<p><a href="{e(condition["linkToSearchResultsUI"])}">View search results</a></p>'
        f"<h3>Search query</h3><pre>{e(condition['searchQuery'])}</pre>{results}"
        '<p class="footer">You\'re receiving this notification as a member of an action group. '
        "Please do not reply to this email.</p></body></html>"
    )


def _default_subjects(state: SimState, form_name: str) -> None:
    """subject-only: the tenant's rules set no custom subject, so Azure's documented default is sent."""
    if form_name == "subject-only":
        for rule in state.tenant.alertRules:
            rule.pop("customEmailSubject", None)


TEMPLATE = Belief(
    "alert-mail-template",
    "the alert mail's body (Azure's email template is not public)",
    {"table": "labelled table of the common schema's fields, with Window start/end time rows",
     "no-window": "the same table without the Window start/end time rows",
     "subject-only": "Azure's default subject (Fired:Sev0 Azure Monitor Alert <rule> on <resource> "
                     "... at <time>), a body showing no field",
     "custom-minimal": "the rule's custom subject and a body showing no field"},
    apply=_default_subjects,
)  # fmt: skip
