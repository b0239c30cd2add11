"""Adaptive polling for the long waits (log row, alert mail), and what a service error means for a wait.

The interval grows with the time already waited: detection lag stays a small fraction of the latency being
measured (we poll every `fraction` of the elapsed time), while the number of queries grows only
logarithmically.

The SDKs retry 429 and 5xx three times on their own, which a 30-second throttling burst in the middle of a
30-minute wait easily outlasts. So a wait absorbs transient failures itself until its deadline: 429, 5xx,
timeouts and dropped connections are counted, listed in the evidence and retried no sooner than the
service's Retry-After. A 400, 401 or 403 is not going to get better by waiting: it stops the step at once
with the service's own message; so does a host that cannot be reached at all (its name does not resolve,
nothing listens on the port, its TLS certificate is not trusted: HostUnreachable, one line naming the
host). Anything else propagates (fail closed: an unknown error is never "not there yet").
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from drill.clients import Unreachable, unreachable

T = TypeVar("T")
REFUSED = {400, 401, 403}
MAX_RETRY_AFTER_S = 120.0  # never trust a Retry-After longer than this (the deadline still bounds it)


class ServiceRefused(Exception):
    """A 400/401/403 from a service: waiting will not fix it; `message` is the service's own words."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class HostUnreachable(Exception):
    """DNS, a refused connection or untrusted TLS: waiting will not fix it; `line` names host and fix."""

    def __init__(self, where: Unreachable) -> None:
        super().__init__(where.line())
        self.where = where
        self.line = where.line()


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
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def transient_count(self) -> int:
        return len(self.errors)

    def error_summary(self) -> str:
        """'3 x HTTP 429, 1 x timeout' for a reason line."""
        counts: dict[str, int] = {}
        for err in self.errors:
            kind = f"HTTP {err['status']}" if err.get("status") else str(err.get("kind"))
            counts[kind] = counts.get(kind, 0) + 1
        return ", ".join(f"{n} x {k}" for k, n in sorted(counts.items()))


def _status(exc: BaseException) -> int | None:
    for attr in ("status_code", "response_status_code", "status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    response = getattr(exc, "response", None)
    value = getattr(response, "status_code", None)
    return value if isinstance(value, int) else None


def _headers(exc: BaseException) -> Any:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        headers = getattr(exc, "response_headers", None)
    return headers or {}


def retry_after_s(exc: BaseException) -> float | None:
    """The Retry-After the service sent with this error, in seconds (delta form only), or None."""
    headers = _headers(exc)
    value = None
    try:
        value = headers.get("Retry-After") or headers.get("retry-after")
    except AttributeError:
        return None
    if isinstance(value, list | tuple | set):
        value = next(iter(value), None)
    try:
        return min(MAX_RETRY_AFTER_S, max(0.0, float(str(value))))
    except (TypeError, ValueError):
        return None


def service_message(exc: BaseException) -> str:
    """The service's own error text (azure-core `message`, kiota `error.message`), one line, bounded."""
    error = getattr(exc, "error", None)
    text = getattr(error, "message", None) or getattr(exc, "message", None) or str(exc)
    code = getattr(error, "code", None)
    line = str(text).strip().splitlines()[0] if str(text).strip() else type(exc).__name__
    return (f"{code}: {line}" if code and str(code) not in line else line)[:300]


def _is_timeout_or_connection(exc: BaseException) -> bool:
    import httpx
    import requests
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError

    return isinstance(
        exc,
        ServiceRequestError
        | ServiceResponseError
        | httpx.TimeoutException
        | httpx.TransportError
        | requests.ConnectionError
        | requests.Timeout
        | TimeoutError
        | ConnectionError,
    )


def classify(exc: BaseException) -> dict[str, Any] | None:
    """A transient error's record, or None when `exc` is not a service error we know to be transient.

    Raises ServiceRefused for 400/401/403, HostUnreachable when the transport never reached the host.
    """
    status = _status(exc)
    if status in REFUSED:
        raise ServiceRefused(status, service_message(exc)) from exc
    if isinstance(exc, HostUnreachable):
        raise exc
    if status is None and (where := unreachable(exc)) is not None:
        raise HostUnreachable(where) from exc
    if status is not None and (status == 429 or 500 <= status <= 599):
        return {
            "status": status,
            "kind": "http",
            "message": service_message(exc),
            "retry_after": retry_after_s(exc),
        }
    if status is None and _is_timeout_or_connection(exc):
        return {
            "status": None,
            "kind": "timeout or connection",
            "message": str(exc)[:300],
            "retry_after": None,
        }
    return None


async def poll(
    probe: Callable[[], Awaitable[T | None]],
    deadline_s: float,
    *,
    policy: PollPolicy | None = None,
    on_attempt: Callable[[int, float], None] | None = None,
    on_transient: Callable[[dict[str, Any]], None] | None = None,
) -> WaitOutcome[T]:
    """Call `probe` until it returns something, or the deadline passes (then timed_out, value None).

    Transient service errors (see `classify`) are recorded and retried, no sooner than their Retry-After;
    ServiceRefused and anything unknown propagate, so a broken query fails the step loudly instead of
    looking like "not there yet".
    """
    pol = policy or PollPolicy()
    start = time.monotonic()
    attempts = 0
    errors: list[dict[str, Any]] = []
    while True:
        attempts += 1
        wait_at_least = 0.0
        try:
            value = await probe()
        except Exception as exc:
            record = classify(exc)
            if record is None:
                raise
            record["at_s"] = round(time.monotonic() - start, 3)
            errors.append(record)
            if on_transient is not None:
                on_transient(record)
            wait_at_least = float(record.get("retry_after") or 0.0)
            value = None
        elapsed = time.monotonic() - start
        if on_attempt is not None:
            on_attempt(attempts, elapsed)
        if value is not None:
            return WaitOutcome(value, attempts, elapsed, False, errors)
        if elapsed >= deadline_s:
            return WaitOutcome(None, attempts, elapsed, True, errors)
        pause = max(pol.interval(elapsed), wait_at_least)
        await asyncio.sleep(min(pause, max(0.0, deadline_s - elapsed)))


async def call_within(
    call: Callable[[], Awaitable[T]], deadline_s: float, *, policy: PollPolicy | None = None
) -> tuple[T, list[dict[str, Any]]]:
    """One request that must succeed, retried through transient errors until `deadline_s` (preflight's
    probes, the GA proof's reads). Raises the last transient error at the deadline, ServiceRefused at once.
    """
    box: list[T] = []
    last: list[BaseException] = []

    async def probe() -> bool | None:
        try:
            box.append(await call())
        except Exception as exc:
            last[:] = [exc]
            raise
        return True

    outcome = await poll(probe, deadline_s, policy=policy or PollPolicy(first=0.5, fraction=0.2, cap=10.0))
    if outcome.value is None:
        if last:
            raise last[0]
        raise TimeoutError(f"no answer within {deadline_s:.0f}s")
    return box[0], outcome.errors


class CountedCalls:
    """A step's single requests (not waits): each counted under `counter`, retried through transient errors
    within `deadline_s` (call_within), the transient errors kept for the step's evidence."""

    def __init__(self, counters: dict[str, int], counter: str, deadline_s: float) -> None:
        self.counters, self.counter, self.deadline_s = counters, counter, deadline_s
        self.transients: list[dict[str, Any]] = []

    async def __call__(self, call: Callable[[], Awaitable[T]]) -> T:
        self.counters[self.counter] += 1
        value, errors = await call_within(call, self.deadline_s)
        self.transients.extend(errors)
        return value
