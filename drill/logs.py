"""Logging for the drill: JSON lines for the bundle, readable lines for the operator, both redacted.

Every record, ours or a library's, passes `drill.secrets.redact_event` before any renderer sees it; this
module only wires that processor into structlog and the standard `logging` module.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import structlog

from drill.fsutil import private_mkdir
from drill.secrets import format_exception, redact_event, redact_text

# --- set-up -----------------------------------------------------------------------------------------------
_HANDLER_MARK = "_drill_handler"
_NOISY_LIBRARIES = (
    "azure.core.pipeline.policies.http_logging_policy",
    "azure.identity",
    "msal",
    "httpx",
    "urllib3",
)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is now (progress displays and test capture replace it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]


def configure_logging(json_path: Path | None, console: bool = True, level: int | str = "INFO") -> None:
    """Send structlog and stdlib records to a JSON-lines file and/or the console, both redacted.

    Safe to call again (a drill reconfigures to add its bundle's log.jsonl): earlier drill handlers go first.
    """
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric, int):
        raise TypeError(f"unknown log level {level!r}")
    shared = _shared_processors()
    # Redact before the record exists: any other handler on the root logger (a library's, pytest's) then
    # only ever sees the redacted event.
    structlog.configure(
        processors=[*shared, redact_event, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    _install_record_redaction()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
            handler.close()

    def formatter(renderer: Any) -> logging.Formatter:
        return structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, redact_event, renderer],
        )

    handlers: list[logging.Handler] = []
    if json_path is not None:
        private_mkdir(json_path.parent)
        file_handler = logging.FileHandler(json_path, encoding="utf-8")
        file_handler.setFormatter(formatter(structlog.processors.JSONRenderer(default=str)))
        handlers.append(file_handler)
    if console:
        stream = _StderrHandler(sys.stderr)
        stream.setFormatter(formatter(structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())))
        handlers.append(stream)
    for handler in handlers:
        setattr(handler, _HANDLER_MARK, True)
        handler.setLevel(numeric)
        root.addHandler(handler)
    root.setLevel(numeric)
    # Libraries that log every HTTP request at INFO would drown the operator (and they carry URLs).
    for name in _NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))


def _install_record_redaction() -> None:
    """Redact stdlib records (msal, azure-core, httpx) as they are made, so every handler gets clean text."""
    current = logging.getLogRecordFactory()
    if getattr(current, _HANDLER_MARK, False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        if record.exc_info and record.exc_info[1] is not None:
            # No handler may format the raw exception: render it redacted into the message instead.
            text = format_exception(record.exc_info[1])
            record.exc_info, record.exc_text = None, None
            if isinstance(record.msg, dict):
                record.msg.setdefault("exception", text)
            else:
                record.msg = f"{record.getMessage()}\n{text}"
                record.args = ()
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        if isinstance(record.msg, str):
            try:
                message = record.getMessage()
            except (TypeError, ValueError):  # a library's bad format string: keep what can be shown
                message = f"{record.msg} {record.args!r}"
            record.msg, record.args = redact_text(message), ()
        return record

    setattr(factory, _HANDLER_MARK, True)
    logging.setLogRecordFactory(factory)


def get_logger(name: str | None = None) -> Any:
    """A structlog logger; a thin alias so callers need not import structlog."""
    return structlog.get_logger(name)


@contextmanager
def drill_context(drill_id: str, **extra: Any) -> Iterator[None]:
    """Bind the drill id (and any extra fields) for the duration of a block, then restore the context."""
    tokens = structlog.contextvars.bind_contextvars(drill_id=drill_id, **extra)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
