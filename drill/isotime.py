"""The one way the product reads and writes ISO 8601 instants (and reads durations), so every comparison is
between aware UTC times.

Ledger lines, Log Analytics rows, Graph answers and `--as-of` all arrive as text with a `Z`, an offset, or
(from older ledgers) no zone at all; a naive instant is taken as UTC, never as local time.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any


def parse_utc(value: str | datetime) -> datetime:
    """An aware UTC datetime; ValueError for text that is not an ISO 8601 date or instant."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def utc_z(value: datetime) -> str:
    """Whole seconds with a `Z`, as KQL `datetime()` and Graph `$filter` literals both accept.

    Fractions are dropped (floored): a lower bound written with it can only widen a window, never narrow it.
    """
    return parse_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


_DURATION = re.compile(r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$")


def parse_duration(value: Any) -> timedelta | None:
    """An ISO 8601 duration as ARM writes them (PT5M, P1D), or the SDK's already parsed timedelta."""
    if value is None or isinstance(value, timedelta):
        return value
    match = _DURATION.match(str(value).upper())
    if not match or str(value).upper() in {"P", "PT"}:
        return None
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return timedelta(days=parts.get("d", 0), hours=parts.get("h", 0), minutes=parts.get("m", 0),
                     seconds=parts.get("s", 0))  # fmt: skip
