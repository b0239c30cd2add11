"""ISO 8601 durations and intervals as Azure Monitor writes them (PT5M, P1D, start/end, start/PT3600.0S)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip().upper())
    if not match or text.strip().upper() in {"P", "PT"}:
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return timedelta(
        days=parts.get("d", 0), hours=parts.get("h", 0), minutes=parts.get("m", 0), seconds=parts.get("s", 0)
    )


def parse_instant(text: str) -> datetime:
    value = text.strip().replace("Z", "+00:00")
    # Azure writes up to 7 fractional digits; Python takes 6.
    value = re.sub(r"(\.\d{6})\d+", r"\1", value)
    return datetime.fromisoformat(value)


def parse_timespan(text: str, now: datetime) -> tuple[datetime, datetime]:
    """An interval `start/end`, `start/duration`, `duration/end`, or a bare duration ending now."""
    if "/" in text:
        left, right = text.split("/", 1)
        if left.upper().startswith("P"):
            end = parse_instant(right)
            return end - parse_duration(left), end
        start = parse_instant(left)
        return (
            (start, start + parse_duration(right))
            if right.upper().startswith("P")
            else (start, parse_instant(right))
        )
    return now - parse_duration(text), now
