"""Adaptive polling: grows with elapsed time, stops at the deadline, retries only what it is told to."""

from __future__ import annotations

import asyncio

import pytest

from drill.steps.waiting import PollPolicy, poll


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


def test_transient_errors_are_retried_and_recorded_others_propagate() -> None:
    state = {"n": 0}

    async def flaky() -> str | None:
        state["n"] += 1
        if state["n"] == 1:
            raise ConnectionError("reset by peer")
        return "ok"

    out = asyncio.run(poll(flaky, 5, policy=PollPolicy(first=0.01), transient=(ConnectionError,)))
    assert out.value == "ok"
    assert out.errors
    assert "reset by peer" in out.errors[0]

    async def broken() -> None:
        raise ValueError("syntax error in query")

    with pytest.raises(ValueError, match="syntax"):
        asyncio.run(poll(broken, 5, transient=(ConnectionError,)))
