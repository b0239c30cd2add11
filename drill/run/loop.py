"""Run one drill in an event loop that turns SIGINT/SIGTERM into a clean INCOMPLETE, never a lost record.

Around it, the process hygiene every drill needs, live or demo: at the start, sweep what a crashed drill
left in the temp folder (its Chromium profile holds the account's cookies); at the end, after the record
is written and the summary shown, forget every secret registered for redaction (PIN, tokens, the
observer's secret), so the process does not hold them longer than the drill.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable

import structlog
import typer

from drill.browser.sweep import sweep_stale
from drill.evidence.bundle import BundleWriter
from drill.evidence.controls import findings_for
from drill.evidence.model import Confirmation, DrillRecord, Verdict
from drill.run.orchestrator import EXIT_CODES, RecordSink, run_drill
from drill.secrets import forget_secrets, redact_text
from drill.steps.context import DrillContext

log = structlog.get_logger("drill.run.loop")


def execute(
    ctx: DrillContext,
    sink: RecordSink,
    *,
    operator_name: str | None = None,
    witness: str | None = None,
    on_done: Callable[[DrillRecord], None] | None = None,
    confirm: Callable[[DrillRecord], list[Confirmation]] | None = None,
) -> int:
    """Run the drill; exit code 0 PASS, 1 FAIL, 3 INCOMPLETE (interrupted or crashed before the verdict).

    `confirm` asks the operator's post-drill confirmations once the verdict is decided and before the
    bundle is signed, so they are signed statements in it.
    """
    try:
        swept = sweep_stale()
    except OSError as exc:  # a sweep that cannot run must not stop the drill
        log.warning("sweeping stale drill folders failed", error=f"{type(exc).__name__}: {exc}")
    else:
        if swept:
            log.info("swept stale drill folders", folders=[str(p) for p in swept])
    try:
        return _execute(
            ctx, sink, operator_name=operator_name, witness=witness, on_done=on_done, confirm=confirm
        )
    finally:
        forget_secrets()


def summary_printer(writer: BundleWriter) -> Callable[[DrillRecord], None]:
    """An `on_done` that prints the bundle's closing lines while the run's secrets are still registered,
    so they are redacted (execute forgets them right after)."""

    def show(_record: DrillRecord) -> None:
        if writer.finished is not None:
            for line in writer.finished.summary():
                typer.echo(redact_text(line))

    return show


def _execute(
    ctx: DrillContext,
    sink: RecordSink,
    *,
    operator_name: str | None,
    witness: str | None,
    on_done: Callable[[DrillRecord], None] | None,
    confirm: Callable[[DrillRecord], list[Confirmation]] | None = None,
) -> int:
    holder: dict[str, DrillRecord] = {}
    if ctx.save_screenshot is None:
        ctx.save_screenshot = getattr(sink, "add_screenshot", None)

    class _Capture:
        def begin(self, record: DrillRecord) -> None:
            holder["record"] = record
            sink.begin(record)

        def update(self, record: DrillRecord) -> None:
            sink.update(record)

        def finish(self, record: DrillRecord) -> None:
            if confirm is not None:
                try:
                    answers = confirm(record)
                    record = record.model_copy(
                        update={
                            "confirmations": answers,
                            "findings": [*record.findings, *findings_for(answers)],
                        }
                    )
                except Exception as exc:  # noqa: BLE001 (the bundle is written whatever the prompts did)
                    log.warning("post-drill confirmations failed", error=f"{type(exc).__name__}: {exc}")
            holder["record"] = record
            sink.finish(record)

    async def main() -> DrillRecord:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, task.cancel if task else (lambda: None))
        return await run_drill(ctx, _Capture(), operator_name=operator_name, witness=witness)

    try:
        record = asyncio.run(main())
    except (asyncio.CancelledError, KeyboardInterrupt):
        record = holder.get("record")  # type: ignore[assignment]
        if record is None:
            return EXIT_CODES[Verdict.INCOMPLETE]
    if on_done is not None:
        on_done(record)
    return EXIT_CODES[record.verdict]
