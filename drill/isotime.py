"""The one way the product reads and writes ISO 8601 instants, so every comparison is between aware UTC times.

Ledger lines, Log Analytics rows, Graph answers and `--as-of` all arrive as text with a `Z`, an offset, or
(from older ledgers) no zone at all; a naive instant is taken as UTC, never as local time.
"""

from __future__ import annotations

from datetime import UTC, datetime


def parse_utc(value: str | datetime) -> datetime:
    """An aware UTC datetime; ValueError for text that is not an ISO 8601 date or instant."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def utc_z(value: datetime) -> str:
    """Whole seconds with a `Z`, as KQL `datetime()` and Graph `$filter` literals both accept.

    Fractions are dropped (floored): a lower bound written with it can only widen a window, never narrow it.
    """
    return parse_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")
