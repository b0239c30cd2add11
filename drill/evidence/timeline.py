"""Geometry for the inline SVG timeline: numbers only, so the template renders it without any markup here.

The auditor's question is "how long did each link take, against the promise?", so the axis starts at the
sign-in and every SLA becomes a dashed deadline measured from the moment its clock starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from drill.evidence.model import DrillRecord, Timings

WIDTH = 760
LEFT = 150
RIGHT = 30
ROW_H = 26
TOP = 30

# A measure's SLA may be named for the measure or for the playbook's step deadline (`sla.log_row` etc.).
SLA_ALIASES: dict[str, tuple[str, ...]] = {
    "signin_s": ("signin_s", "signin"),
    "ingestion_latency_s": ("ingestion_latency_s",),
    "time_to_row_s": ("time_to_row_s", "log_row"),
    "time_to_alert_s": ("time_to_alert_s", "alert"),
    "time_to_sentinel_alert_s": ("time_to_sentinel_alert_s", "incident"),
    "time_to_incident_s": ("time_to_incident_s", "incident"),
}


# Seconds beyond this (about 30 years) are nonsense, not a latency; they would overflow the chart's scale.
MAX_SECONDS = 1e9


def finite(value: object) -> float | None:
    """A plottable number of seconds, or None: ledger lines and records are input, and JSON may carry
    `Infinity`, `NaN`, booleans or huge values, which would otherwise loop the tick axis forever."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    number = float(value)
    return number if math.isfinite(number) and abs(number) <= MAX_SECONDS else None


def sla_limit(sla: dict[str, float], measure: str) -> float | None:
    """The SLA (seconds) bounding a measure, under its own name or its playbook step's name."""
    for key in SLA_ALIASES.get(measure, (measure,)):
        if key in sla:
            return finite(sla[key])
    return None


def effective_timings(record: DrillRecord) -> Timings:
    """The record's timings, with the sign-in times taken from the sign-in step when the step set none."""
    t = record.timings
    step = next((s for s in record.steps if s.step == "signin"), None)
    if step is None or step.status.value == "skipped":
        return t
    update: dict[str, object] = {}
    if t.signin_started_at is None:
        update["signin_started_at"] = step.started_at
    if t.signin_completed_at is None and step.status.value == "pass":
        update["signin_completed_at"] = step.ended_at
    if t.signin_s is None and step.status.value == "pass":
        update["signin_s"] = step.duration_s
    return t.model_copy(update=update) if update else t


# (label, Timings attribute of the event, measure whose SLA bounds it, attribute its clock starts from)
EVENTS: tuple[tuple[str, str, str, str], ...] = (
    ("Sign-in started", "signin_started_at", "", ""),
    ("Sign-in completed", "signin_completed_at", "signin_s", "signin_started_at"),
    ("Log row created", "row_created_at", "", ""),
    ("Log row ingested", "row_ingested_at", "ingestion_latency_s", "row_created_at"),
    ("Log row seen", "row_seen_at", "time_to_row_s", "signin_completed_at"),
    ("Alert received", "alert_received_at", "time_to_alert_s", "signin_completed_at"),
    ("Sentinel alert", "sentinel_alert_at", "time_to_sentinel_alert_s", "row_created_at"),
    ("Incident created", "incident_created_at", "time_to_incident_s", "row_created_at"),
)


@dataclass(frozen=True)
class Mark:
    label: str
    at: str  # ISO UTC time, shown as text
    offset_s: float
    x: float
    y: float
    late: bool  # beyond its SLA deadline


@dataclass(frozen=True)
class Deadline:
    label: str
    limit_s: float
    x: float
    y: float


@dataclass(frozen=True)
class Timeline:
    width: int
    height: int
    axis_y: float
    left: float
    right: float
    marks: list[Mark]
    deadlines: list[Deadline]
    ticks: list[tuple[float, str]]  # (x, label)


def _get(t: Timings, name: str) -> datetime | None:
    value = getattr(t, name, None) if name else None
    return value if isinstance(value, datetime) else None


def _nice_step(span: float) -> float:
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400):
        if span / step <= 8:
            return float(step)
    return span / 8


def _fmt_s(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:g}s"
    if seconds < 7200:
        return f"{seconds / 60:g}m"
    return f"{seconds / 3600:g}h"


def build(record: DrillRecord) -> Timeline | None:
    """None when nothing was timed (e.g. preflight failed): the report then says so in words."""
    t = effective_timings(record)
    origin = _get(t, "signin_started_at") or _get(t, "signin_completed_at")
    if origin is None:
        return None
    rows: list[tuple[str, datetime, float, float | None, float]] = []  # label, at, offset, deadline, SLA
    for label, attr, sla_key, start_attr in EVENTS:
        at = _get(t, attr)
        if at is None:
            continue
        deadline = None
        start = _get(t, start_attr)
        limit = sla_limit(record.sla, sla_key) if sla_key else None
        if limit is not None and start is not None:
            deadline = (start - origin).total_seconds() + limit
        if attr == "incident_created_at" and t.incident_number is not None:
            label = f"Incident #{t.incident_number} created"
        rows.append((label, at, (at - origin).total_seconds(), deadline, limit or 0.0))
    if not rows:
        return None
    span = max([r[2] for r in rows] + [r[3] for r in rows if r[3] is not None] + [1.0])
    span *= 1.05
    plot_w = WIDTH - LEFT - RIGHT

    def x_of(offset: float) -> float:
        return round(LEFT + max(offset, 0.0) / span * plot_w, 1)

    marks, deadlines = [], []
    for i, (label, at, offset, deadline, limit) in enumerate(rows):
        y = TOP + i * ROW_H
        late = deadline is not None and offset > deadline
        marks.append(Mark(label, at.isoformat(), round(offset, 3), x_of(offset), y, late))
        if deadline is not None:
            deadlines.append(Deadline(f"SLA {label.lower()}", limit, x_of(deadline), y))
    axis_y = TOP + len(rows) * ROW_H
    step = _nice_step(span)
    ticks = []
    value = 0.0
    while value <= span:
        ticks.append((x_of(value), _fmt_s(value)))
        value += step
    return Timeline(WIDTH, int(axis_y + 30), axis_y, LEFT, WIDTH - RIGHT, marks, deadlines, ticks)


@dataclass(frozen=True)
class HistoryPoint:
    x: float
    y: float
    value: float
    label: str


@dataclass(frozen=True)
class HistorySeries:
    name: str
    colour: str
    points: list[HistoryPoint]


@dataclass(frozen=True)
class HistoryChart:
    width: int
    height: int
    left: float
    bottom: float
    series: list[HistorySeries]
    y_ticks: list[tuple[float, str]]
    x_labels: list[tuple[float, str]]


def history(entries: list[dict[str, object]], metrics: dict[str, str]) -> HistoryChart | None:
    """Latencies (seconds) of past drills, one polyline per metric, drills in ledger order along x."""
    height, bottom, top = 290, 220.0, 20.0
    values = [[(i, e) for i, e in enumerate(entries) if _timing(e, m) is not None] for m in metrics]
    seen = [_timing(e, m) or 0.0 for m, pts in zip(metrics, values, strict=True) for _, e in pts]
    peak = max([*seen, 1.0])
    n = max(len(entries) - 1, 1)
    plot_w = WIDTH - LEFT - RIGHT
    series = []
    for (metric, colour), pts in zip(metrics.items(), values, strict=True):
        points = []
        for i, entry in pts:
            v = _timing(entry, metric) or 0.0
            x = round(LEFT + i / n * plot_w, 1) if len(entries) > 1 else LEFT + plot_w / 2
            y = round(bottom - v / (peak * 1.1) * (bottom - top), 1)
            points.append(HistoryPoint(x, y, v, str(entry.get("started_at", ""))[:10]))
        series.append(HistorySeries(metric, colour, points))
    if not any(s.points for s in series):
        return None
    step = _nice_step(peak * 1.1)
    ticks, v = [], 0.0
    while v <= peak * 1.1:
        ticks.append((round(bottom - v / (peak * 1.1) * (bottom - top), 1), _fmt_s(v)))
        v += step
    x_labels = []
    for i, entry in enumerate(entries):
        x = round(LEFT + i / n * plot_w, 1) if len(entries) > 1 else LEFT + plot_w / 2
        x_labels.append((x, str(entry.get("started_at", ""))[:10]))
    if len(x_labels) > 8:  # keep the axis readable: about eight dates
        stride = -(-len(x_labels) // 8)
        x_labels = x_labels[::stride]
    return HistoryChart(WIDTH, height, LEFT, bottom, series, ticks, x_labels)


def _timing(entry: dict[str, object], metric: str) -> float | None:
    timings = entry.get("timings")
    value = finite(timings.get(metric)) if isinstance(timings, dict) else None
    return value if value is not None and value >= 0 else None
