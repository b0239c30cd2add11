"""Issue 17 item 9: the live PIN, the account's tokens and the observer's secret are registered for
redaction where they are obtained, on every path, and forgotten when the drill ends.

Each test goes through the product's own code path (ConsolePrompts reading the PIN, BrowserFlow completing
the code exchange, observer_credential reading its secret), then writes a log line holding the value
through the real log set-up, and reads the file back. None of the values has a secret's shape, so only
registration can redact them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from drill.assets import DEMO_PLAYBOOK
from drill.evidence.model import DrillRecord, StepResult, Verdict
from drill.logs import configure_logging
from drill.run import orchestrator
from drill.secrets import REDACTED, forget_secrets, redact_text, registered_secret_count
from drill.steps.base import StepBuilder
from drill.steps.context import DrillContext

ROOT = Path(__file__).resolve().parents[3]
PIN = "480215"
ACCESS = "opaque-access-token-value-0001"
ID_TOKEN = "opaque-id-token-value-0002"
REFRESH = "opaque-refresh-token-value-0003"
CODE = "opaque-auth-code-value-0004"
OBSERVER_SECRET = "observer-secret-value-0005"
OBSERVER_TOKEN = "opaque-observer-token-0006"

log = structlog.get_logger("tests.live_secrets")


@pytest.fixture(autouse=True)
def _clean_registry() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "log.jsonl"
    configure_logging(path, console=False)
    return path


def _logged(path: Path) -> str:
    for handler in __import__("logging").getLogger().handlers:
        handler.flush()
    return path.read_text()


def _demo_playbook(tmp_path: Path) -> Any:
    from drill.playbook import load_playbook

    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    return load_playbook(DEMO_PLAYBOOK, env={"DRILL_SIM_PORT": "1", "DRILL_SIM_CA": str(ca)})


def _read_pin(monkeypatch: pytest.MonkeyPatch) -> str | None:
    """The live prompt, with the terminal's hidden input answered by the operator's PIN."""
    import uuid

    from drill.keys.base import KeyInfo
    from drill.keys.prompts import ConsolePrompts

    monkeypatch.setattr("getpass.getpass", lambda prompt="", stream=None: PIN)
    key = KeyInfo("hid:/dev/hidraw0", "hardware", uuid.uuid4(), "YubiKey 5", "5.4.3", ("FIDO_2_0",))
    return ConsolePrompts().pin(key, 8)


def test_live_pin_is_redacted_from_the_moment_it_is_typed(
    monkeypatch: pytest.MonkeyPatch, log_file: Path
) -> None:
    assert _read_pin(monkeypatch) == PIN
    log.info("ceremony failed", detail=f"the key refused {PIN}")
    text = _logged(log_file)
    assert PIN not in text
    assert REDACTED in text


class _Msal:
    """msal's answer to the code exchange (the token endpoint is the only thing not run here)."""

    def acquire_token_by_auth_code_flow(self, flow: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        return {
            "access_token": ACCESS,
            "id_token": ID_TOKEN,
            "refresh_token": REFRESH,
            "expires_in": 3600,
            "id_token_claims": {"oid": "x"},
        }


def test_tokens_and_code_are_registered_when_the_code_is_exchanged(log_file: Path) -> None:
    from drill.auth import BrowserFlow

    flow = BrowserFlow(app=_Msal(), flow={"auth_uri": "https://login/"}, redirect_uri="https://r/")
    tokens = flow.complete(f"https://r/?code={CODE}&state=s")
    assert tokens.access_token == ACCESS
    log.info("graph call", note=f"{ACCESS} {ID_TOKEN} {REFRESH} {CODE}")
    text = _logged(log_file)
    for value in (ACCESS, ID_TOKEN, REFRESH, CODE):
        assert value not in text
        assert redact_text(value) == REDACTED


def test_observer_secret_and_its_tokens_are_registered(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, log_file: Path
) -> None:
    from drill.auth import RegisteringCredential, StaticTokenCredential, observer_credential
    from drill.clouds import cloud_for

    pb = _demo_playbook(tmp_path)
    monkeypatch.setenv(pb.observer.client_secret_env, OBSERVER_SECRET)
    credential = observer_credential(pb, cloud_for(pb))
    assert isinstance(credential, RegisteringCredential)
    # The observer's tokens pass the same wrapper (a static credential stands in for the token endpoint).
    token = RegisteringCredential(StaticTokenCredential(OBSERVER_TOKEN, 2**31)).get_token(
        "https://x/.default"
    )
    assert token.token == OBSERVER_TOKEN
    log.warning("observer query failed", body=f"secret {OBSERVER_SECRET} token {OBSERVER_TOKEN}")
    text = _logged(log_file)
    assert OBSERVER_SECRET not in text
    assert OBSERVER_TOKEN not in text


class _Sink:
    def __init__(self) -> None:
        self.final: DrillRecord | None = None
        self.registered_at_finish = -1

    def begin(self, record: DrillRecord) -> None:
        return None

    def update(self, record: DrillRecord) -> None:
        return None

    def finish(self, record: DrillRecord) -> None:
        # The bundle is written with the registry still full: its redaction needs the exact values.
        self.registered_at_finish = registered_secret_count()
        self.final = record


def test_a_drill_forgets_every_registered_secret_when_it_ends(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, log_file: Path
) -> None:
    from drill.auth import BrowserFlow
    from drill.clouds import PUBLIC
    from drill.progress import Progress
    from drill.run.loop import execute

    async def signin_like(ctx: DrillContext) -> StepResult:
        _read_pin(monkeypatch)
        ctx.tokens = BrowserFlow(_Msal(), {"auth_uri": "u"}, "https://r/").complete(f"https://r/?code={CODE}")
        log.info("signed in", detail=f"{PIN} {ACCESS} {REFRESH}")
        sb = StepBuilder("signin", "signin")
        sb.check("c", "c", True, "ok")
        return sb.finish()

    async def passing(ctx: DrillContext) -> StepResult:
        sb = StepBuilder("x", "x")
        sb.check("c", "c", True, "ok")
        return sb.finish()

    plan = [(n, t, signin_like if n == "signin" else passing, d) for n, t, _f, d in orchestrator.PLAN]
    monkeypatch.setattr(orchestrator, "PLAN", plan)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # keep the start-of-drill sweep to this test
    pb = _demo_playbook(tmp_path)
    # The real cleanup step runs; no session revocation, which would call Graph.
    pb = pb.model_copy(update={"cleanup": pb.cleanup.model_copy(update={"revoke_sessions": False})})
    ctx = DrillContext(
        playbook=pb,
        account=pb.accounts[0],
        cloud=PUBLIC,
        open_key=lambda: None,  # type: ignore[arg-type,return-value]
        progress=Progress(quiet=True),
    )
    sink = _Sink()
    seen: list[int] = []
    code = execute(ctx, sink, on_done=lambda record: seen.append(registered_secret_count()))
    assert sink.final is not None
    assert sink.final.verdict is Verdict.PASS, sink.final.reason
    assert code == 0
    assert sink.registered_at_finish >= 5  # PIN, code, three tokens
    assert seen[0] >= 5  # the summary is still printed redacted
    assert registered_secret_count() == 0
    assert ctx.tokens is None  # the real cleanup step dropped them
    text = _logged(log_file)
    for value in (PIN, ACCESS, REFRESH, CODE):
        assert value not in text
    assert all(json.loads(line) for line in text.splitlines())


def test_the_closing_summary_is_printed_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    """Live and demo print the bundle's summary through one printer, while the secrets are registered."""
    from types import SimpleNamespace

    from drill.run.loop import summary_printer
    from drill.secrets import register_secret

    register_secret(PIN)
    try:
        finished = SimpleNamespace(summary=lambda: [f"bundle for {PIN}", "ledger head abc"])
        summary_printer(SimpleNamespace(finished=finished))(None)  # type: ignore[arg-type]
    finally:
        forget_secrets()
    out = capsys.readouterr().out
    assert PIN not in out
    assert REDACTED in out
    assert "ledger head abc" in out
