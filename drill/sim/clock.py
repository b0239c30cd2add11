"""The simulator's clock: real time, optionally sped up, and advanceable by tests and the control plane.

Every simulated timestamp (sign-ins, ingestion, alert evaluation, mail) comes from here, so a demo can run
a 5-minute ingestion delay in seconds and a test can jump a day without sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class SimClock:
    def __init__(self, scale: float = 1.0, start: datetime | None = None) -> None:
        if scale <= 0:
            raise ValueError("clock scale must be positive")
        self._lock = threading.Lock()
        self._scale = scale
        self._base_sim = start or datetime.now(UTC)
        self._base_mono = time.monotonic()

    @property
    def scale(self) -> float:
        return self._scale

    def now(self) -> datetime:
        with self._lock:
            elapsed = (time.monotonic() - self._base_mono) * self._scale
            return self._base_sim + timedelta(seconds=elapsed)

    def advance(self, seconds: float) -> datetime:
        """Jump forward; time never runs backwards, so a negative step is refused."""
        if seconds < 0:
            raise ValueError("the simulator clock only moves forward")
        with self._lock:
            self._base_sim += timedelta(seconds=seconds)
        return self.now()

    def skew(self, seconds: float) -> datetime:
        """Set the service clock `seconds` off the host's (either way), once, before anything happened.

        A real tenant's clock and the workstation's differ; the `clock-skew-*` faults use this. Unlike
        `advance`, it may move backwards, so it is only for setting up a run, not during one.
        """
        with self._lock:
            self._base_sim += timedelta(seconds=seconds)
        return self.now()

    def set_scale(self, scale: float) -> None:
        if scale <= 0:
            raise ValueError("clock scale must be positive")
        now = self.now()
        with self._lock:
            self._base_sim, self._base_mono, self._scale = now, time.monotonic(), scale

    def sim_seconds_to_real(self, seconds: float) -> float:
        return seconds / self._scale
