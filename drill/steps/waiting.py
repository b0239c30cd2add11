"""Adaptive polling for the long waits (log row, alert mail).

The interval grows with the time already waited: detection lag stays a small fraction of the latency being
measured (we poll every `fraction` of the elapsed time), while the number of queries grows only
logarithmically. Rate limits are the client libraries' business (azure-core and Graph's middleware honour
429 Retry-After); a deadline is ours.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class PollPolicy:
    first: float = 0.25  # seconds before the second attempt
    fraction: float = 0.05  # later intervals: this fraction of the time waited so far
    cap: float = 15.0  # never wait longer than this between attempts

    def interval(self, elapsed: float) -> float:
        return min(self.cap, max(self.first, elapsed * self.fraction))


@dataclass
class WaitOutcome(Generic[T]):
    value: T | None
    attempts: int
    waited_s: float
    timed_out: bool
    errors: list[str] = field(default_factory=list)


async def poll(
    probe: Callable[[], Awaitable[T | None]],
    deadline_s: float,
    *,
    policy: PollPolicy | None = None,
    on_attempt: Callable[[int, float], None] | None = None,
    transient: tuple[type[BaseException], ...] = (),
) -> WaitOutcome[T]:
    """Call `probe` until it returns something, or the deadline passes (then timed_out, value None).

    Errors of the `transient` kinds are recorded and retried; anything else propagates, so a broken query
    fails the step loudly instead of looking like "not there yet".
    """
    pol = policy or PollPolicy()
    start = time.monotonic()
    attempts = 0
    errors: list[str] = []
    while True:
        attempts += 1
        try:
            value = await probe()
        except transient as exc:
            errors.append(f"{type(exc).__name__}: {exc}"[:300])
            value = None
        elapsed = time.monotonic() - start
        if on_attempt is not None:
            on_attempt(attempts, elapsed)
        if value is not None:
            return WaitOutcome(value, attempts, elapsed, False, errors)
        if elapsed >= deadline_s:
            return WaitOutcome(None, attempts, elapsed, True, errors)
        await asyncio.sleep(min(pol.interval(elapsed), max(0.0, deadline_s - elapsed)))
