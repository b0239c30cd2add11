"""What the operator sees while the drill runs: the current step, elapsed against its deadline, and why.

Rich on a terminal, plain lines otherwise (CI, log files); never anything secret.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class Progress:
    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self._stream = stream or sys.stderr
        self._quiet = quiet
        self._last_wait = 0.0
        from rich.console import Console

        self._console = Console(file=self._stream, highlight=False, soft_wrap=True)

    def step(self, name: str, title: str) -> None:
        if not self._quiet:
            self._console.print(f"[bold]▶ {title}[/bold] [dim]({name})[/dim]")

    def done(self, name: str, status: str, reason: str, duration_s: float) -> None:
        if self._quiet:
            return
        colour = {"pass": "green", "fail": "red", "error": "red", "skipped": "yellow"}.get(status, "white")
        self._console.print(f"  [{colour}]{status.upper()}[/{colour}] {reason} [dim]{duration_s:.1f}s[/dim]")

    def info(self, message: str, **fields: Any) -> None:
        if not self._quiet:
            extra = " ".join(f"{k}={v}" for k, v in fields.items())
            self._console.print(f"  {message} [dim]{extra}[/dim]")

    def waiting(self, what: str, elapsed: float, deadline: float, attempts: int) -> None:
        """Throttled to one line every few seconds so a 30-minute wait stays readable."""
        if self._quiet:
            return
        now = time.monotonic()
        if now - self._last_wait < 5 and attempts > 1:
            return
        self._last_wait = now
        self._console.print(f"  … waiting for {what}: {elapsed:.0f}s of {deadline:.0f}s (query {attempts})")
