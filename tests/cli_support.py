"""The one way tests run `drill ARGS` in-process through the real entry point.

In-process (not a subprocess) so a test can plant files, run the command, and read its exit code and
both streams without paying an interpreter start per call; `main` is the same function the console
script calls, so user errors become exit 2 with one line, exactly as an operator sees them.
"""

from __future__ import annotations

import contextlib
import io
import sys


def run_cli(*args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `drill ARGS`."""
    from drill.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_argv, sys.argv = sys.argv, ["drill", *args]
    code: int | str | None = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.argv = old_argv
    return (code if isinstance(code, int) else (0 if code is None else 1)), out.getvalue(), err.getvalue()
