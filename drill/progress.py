"""What the operator sees while the drill runs: the current step, elapsed against its deadline, and why.

Rich on a terminal, plain lines otherwise (CI, log files); never anything secret.

Everything shown comes partly from the tenant (CA policy names, mail subjects, Graph error text), so every
piece of text is redacted (a token quoted in an error must not reach the scroll-back) and then escaped
(a policy named ``Admins [/] on compliant devices`` is text, not Rich markup). Only the fixed styling
around it is markup. And a display is a courtesy: if the console fails (a closed pipe, a Rich bug), the
failure is logged, redacted, and swallowed, so it can never change a step's result or the verdict.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import structlog

from drill.secrets import redact, redact_text

log = structlog.get_logger("drill.progress")


def shown(value: object) -> str:
    """Text as it may appear inside console markup: secrets removed, then Rich markup escaped."""
    from rich.markup import escape

    return escape(redact_text(str(value)))


def _display_failed(exc: Exception) -> None:
    """Log a display failure, redacted; should that fail too, there is nothing left to tell."""
    with contextlib.suppress(Exception):
        log.warning("progress display failed", error=redact_text(f"{type(exc).__name__}: {exc}"))


class Progress:
    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self._stream = stream or sys.stderr
        self._quiet = quiet
        self._last_wait = 0.0
        from rich.console import Console

        self._console = Console(file=self._stream, highlight=False, soft_wrap=True)

    def _print(self, line: Callable[[], str]) -> None:
        """Build and print one line; a display failure is logged, redacted, and never raised."""
        try:
            self._console.print(line())
        except Exception as exc:  # noqa: BLE001 - the console must never decide a drill's outcome
            _display_failed(exc)

    def step(self, name: str, title: str) -> None:
        if not self._quiet:
            self._print(lambda: f"[bold]▶ {shown(title)}[/bold] [dim]({shown(name)})[/dim]")

    def done(self, name: str, status: str, reason: str, duration_s: float) -> None:
        if self._quiet:
            return

        def line() -> str:
            colour = {"pass": "green", "fail": "red", "error": "red", "skipped": "yellow"}.get(
                status, "white"
            )
            label = shown(str(status).upper())
            return f"  [{colour}]{label}[/{colour}] {shown(reason)} [dim]{duration_s:.1f}s[/dim]"

        self._print(line)

    def info(self, message: str, **fields: Any) -> None:
        if not self._quiet:

            def line() -> str:
                # By key name too: `info("...", token=...)` must not print the token whatever its shape.
                safe = redact(dict(fields))
                extra = " ".join(f"{shown(k)}={shown(v)}" for k, v in safe.items())
                return f"  {shown(message)} [dim]{extra}[/dim]"

            self._print(line)

    def waiting(self, what: str, elapsed: float, deadline: float, attempts: int) -> None:
        """Throttled to one line every few seconds so a 30-minute wait stays readable."""
        if self._quiet:
            return
        now = time.monotonic()
        if now - self._last_wait < 5 and attempts > 1:
            return
        self._last_wait = now
        self._print(
            lambda: f"  … waiting for {shown(what)}: {elapsed:.0f}s of {deadline:.0f}s (query {attempts})"
        )


class SafeProgress(Progress):
    """Any progress display behind the same guard: steps call it directly, so a display that raises (a
    custom one, a test double, a future UI) must fail here, logged, never inside a step."""

    def __init__(self, inner: object) -> None:  # no console of its own: everything goes to `inner`
        self._inner = inner

    def _call(self, method: str, *args: Any, **kwargs: Any) -> None:
        try:
            getattr(self._inner, method)(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - a display is not evidence
            _display_failed(exc)

    def step(self, name: str, title: str) -> None:
        self._call("step", name, title)

    def done(self, name: str, status: str, reason: str, duration_s: float) -> None:
        self._call("done", name, status, reason, duration_s)

    def info(self, message: str, **fields: Any) -> None:
        self._call("info", message, **fields)

    def waiting(self, what: str, elapsed: float, deadline: float, attempts: int) -> None:
        self._call("waiting", what, elapsed, deadline, attempts)


def safe_progress(progress: object) -> Progress:
    """`progress` itself when it is our own (already guarded), else wrapped in `SafeProgress`."""
    if type(progress) is Progress or isinstance(progress, SafeProgress):
        return progress  # type: ignore[return-value]
    return SafeProgress(progress)
