"""The workstation's clock against the tenant's, measured from the services' HTTP `Date` headers.

Every time the drill compares with a service's timestamps (a query window over CreatedDateTime, a mail's
receivedDateTime, detection lag against ingestion_time()), the workstation's clock is the weak link: a
laptop minutes off would hide the row it waits for or accept a mail from before the sign-in. The offset is
measured in preflight (identity, Log Analytics and Graph each answer with their clock in `Date`), applied
to every window and filter after it, and recorded; over five minutes it is a finding of its own.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

FINDING_S = 300.0


@dataclass
class ClockSkew:
    """Samples of (service clock - workstation clock); `offset_s` is their median once frozen."""

    samples: list[dict[str, Any]] = field(default_factory=list)
    frozen: float | None = None

    def observe(self, source: str, date_header: str | None, sent: datetime, received: datetime) -> None:
        """One response's Date against the middle of its round trip (Date has one-second resolution)."""
        if not date_header:
            return
        try:
            server = parsedate_to_datetime(str(date_header))
        except (TypeError, ValueError):
            return
        if server.tzinfo is None:
            server = server.replace(tzinfo=UTC)
        middle = sent + (received - sent) / 2
        skew = (server + timedelta(seconds=0.5) - middle).total_seconds()
        self.samples.append({"source": source, "date": str(date_header), "skew_s": round(skew, 3),
                             "round_trip_s": round((received - sent).total_seconds(), 3)})  # fmt: skip

    def freeze(self) -> float:
        """Fix the offset the rest of the drill applies (the median of what preflight measured)."""
        if self.frozen is None:
            values = [s["skew_s"] for s in self.samples]
            self.frozen = round(statistics.median(values), 3) if values else 0.0
        return self.frozen

    @property
    def offset_s(self) -> float:
        return self.freeze()

    @property
    def measured(self) -> bool:
        return bool(self.samples)

    def tenant_time(self, local: datetime) -> datetime:
        """A workstation instant on the tenant's clock."""
        return local + timedelta(seconds=self.offset_s)

    def evidence(self) -> dict[str, Any]:
        return {"offset_s": self.offset_s, "measured": self.measured, "samples": self.samples[:12]}


def hook_for(skew: ClockSkew, source: str) -> Any:
    """An azure-core `raw_response_hook` that feeds the response's Date to `skew`."""
    sent = datetime.now(UTC)

    def hook(response: Any) -> None:
        http = getattr(response, "http_response", None)
        headers = getattr(http, "headers", None) or {}
        skew.observe(source, headers.get("Date") or headers.get("date"), sent, datetime.now(UTC))

    return hook
