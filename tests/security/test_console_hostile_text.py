"""Issue 17 item 6, as an attacker would try it: tenant-controlled text (a CA policy name, a mail subject,
a Graph error) aimed at the operator's console. Markup must print as text, Rich link/style tags must not
take effect, secrets must not be shown, and the live wiring's own lines are redacted too.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from drill.progress import Progress
from drill.secrets import REDACTED, forget_secrets, register_secret

HOSTILE = [
    "Admins [/] on compliant devices",
    "[bold red]x[/]",
    "[link=https://evil.example/steal]click to verify[/link]",
    "[/bold][/dim][/red]",
    "\\[escaped] and [[double]]",
    "[@click=app.quit]quit[/]",
]
PIN = "583920"
REFRESH = "1.AXkA" + "r" * 160


@pytest.fixture(autouse=True)
def _clean_registry() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_markup_is_printed_as_typed(text: str) -> None:
    out = io.StringIO()
    progress = Progress(out)
    progress.step("alert", text)
    progress.done("alert", "fail", text, 1.0)
    progress.info(text, subject=text)
    progress.waiting(text, 1.0, 2.0, 1)
    shown = out.getvalue()
    assert shown.count(text) == 5, shown
    assert "progress display failed" not in shown


def test_links_do_not_become_terminal_hyperlinks() -> None:
    out = io.StringIO()
    progress = Progress(out)
    progress._console.force_terminal = True  # what the operator's terminal gets: escape sequences
    progress.info(HOSTILE[2])
    assert "\x1b]8;" not in out.getvalue()  # OSC 8 hyperlink
    assert "[link=https://evil.example/steal]" in out.getvalue()


def test_pin_and_tokens_never_reach_the_console() -> None:
    out = io.StringIO()
    progress = Progress(out)
    register_secret(PIN)  # what ConsolePrompts does when the operator types it
    progress.done("signin", "error", f"NotAllowedError: PIN {PIN} refused; refresh {REFRESH}", 2.0)
    progress.info("token endpoint answered", body=f'{{"refresh_token": "{REFRESH}"}}', pin=PIN)
    shown = out.getvalue()
    assert PIN not in shown
    assert REFRESH not in shown
    assert REDACTED in shown


def test_preflight_lines_of_the_live_wiring_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    from drill.run.live import _echo

    register_secret(PIN)
    _echo(f"FAIL    Observer can query the workspace: HttpResponseError: pin={PIN} Bearer {REFRESH}")
    printed = capsys.readouterr().out
    assert PIN not in printed
    assert REFRESH not in printed
    assert "Observer can query the workspace" in printed
