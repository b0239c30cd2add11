"""Adaptive polling: grows with elapsed time, stops at the deadline, retries only what it is told to."""

from __future__ import annotations

import asyncio
import time

import pytest

from drill.steps.waiting import PollPolicy, ServiceRefused, call_within, poll


def test_interval_grows_with_elapsed_and_is_capped() -> None:
    pol = PollPolicy(first=0.25, fraction=0.05, cap=15)
    assert pol.interval(0) == 0.25
    assert pol.interval(100) == pytest.approx(5.0)
    assert pol.interval(10_000) == 15
    # detection lag bound: the interval never exceeds `fraction` of the wait once past the floor
    for elapsed in (10, 60, 200):
        assert pol.interval(elapsed) <= max(0.25, 0.05 * elapsed)


def test_returns_value_when_probe_succeeds() -> None:
    calls = []

    async def probe() -> str | None:
        calls.append(1)
        return "row" if len(calls) >= 3 else None

    out = asyncio.run(poll(probe, 10, policy=PollPolicy(first=0.01, fraction=0.0, cap=0.01)))
    assert out.value == "row"
    assert out.attempts == 3
    assert not out.timed_out


def test_times_out_with_none() -> None:
    async def probe() -> None:
        return None

    out = asyncio.run(poll(probe, 0.05, policy=PollPolicy(first=0.01, fraction=0.0, cap=0.01)))
    assert out.value is None
    assert out.timed_out
    assert out.attempts >= 2


class _HttpError(Exception):
    """Shaped as azure-core's HttpResponseError: status_code, message and a response with headers."""

    def __init__(self, status: int, message: str = "", retry_after: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status
        self.message = message
        self.response = type("R", (), {"headers": {"Retry-After": retry_after} if retry_after else {}})()


def test_transient_errors_are_retried_recorded_and_honour_retry_after() -> None:
    state = {"n": 0}

    async def flaky() -> str | None:
        state["n"] += 1
        if state["n"] == 1:
            raise ConnectionError("reset by peer")
        if state["n"] == 2:
            raise _HttpError(429, "Too many requests", retry_after="0.3")
        if state["n"] == 3:
            raise _HttpError(503, "Service unavailable")
        return "ok"

    started = time.monotonic()
    out = asyncio.run(poll(flaky, 5, policy=PollPolicy(first=0.01, fraction=0.0, cap=0.01)))
    assert out.value == "ok"
    assert [e["status"] for e in out.errors] == [None, 429, 503]
    assert out.errors[1]["retry_after"] == 0.3
    assert time.monotonic() - started >= 0.3  # Retry-After honoured
    assert out.error_summary() == "1 x HTTP 429, 1 x HTTP 503, 1 x timeout or connection"


@pytest.mark.parametrize("status", [400, 401, 403])
def test_refusals_fail_at_once_with_the_service_message(status: int) -> None:
    calls = []

    async def refused() -> None:
        calls.append(1)
        raise _HttpError(status, "InsufficientAccessError: no access to the workspace")

    with pytest.raises(ServiceRefused, match="no access to the workspace") as info:
        asyncio.run(poll(refused, 5))
    assert info.value.status == status
    assert calls == [1]


def test_unknown_errors_propagate() -> None:
    async def broken() -> None:
        raise ValueError("syntax error in query")

    with pytest.raises(ValueError, match="syntax"):
        asyncio.run(poll(broken, 5))


def test_throttling_until_the_deadline_times_out_with_every_error_listed() -> None:
    async def throttled() -> None:
        raise _HttpError(429, "Too many requests", retry_after="0.05")

    out = asyncio.run(poll(throttled, 0.3, policy=PollPolicy(first=0.01, fraction=0.0, cap=0.01)))
    assert out.timed_out
    assert out.value is None
    assert out.transient_count >= 3
    assert {e["status"] for e in out.errors} == {429}


def test_call_within_returns_after_transients_and_raises_the_last_at_the_deadline() -> None:
    state = {"n": 0}

    async def once_throttled() -> str:
        state["n"] += 1
        if state["n"] == 1:
            raise _HttpError(429, "slow down", retry_after="0")
        return "answer"

    value, errors = asyncio.run(call_within(once_throttled, 5, policy=PollPolicy(first=0.01)))
    assert value == "answer"
    assert len(errors) == 1

    async def always() -> str:
        raise _HttpError(503, "down")

    with pytest.raises(_HttpError):
        asyncio.run(call_within(always, 0.2, policy=PollPolicy(first=0.01, fraction=0.0, cap=0.01)))
