"""No PIN in any log line: structlog events and stdlib records (fido2's traffic dumps included)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from keys_support import RelyingParty, adapter_for
from structlog.testing import capture_logs

from drill.keys.errors import KeyCeremonyError
from drill.keys.prompts import ScriptedPrompts
from drill.keys.software import SoftwareKey

# Letters outside [0-9a-f] so the PIN cannot turn up by chance inside a hex dump of encrypted traffic.
SECRET_PIN = "Zq#walrus-9"


def test_no_pin_in_any_log_line(
    make_key: Callable[..., SoftwareKey], rp: RelyingParty, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(1)  # everything, including fido2's TRAFFIC level below DEBUG
    key = make_key(pin=SECRET_PIN)
    with capture_logs() as events:
        rp.register(adapter_for(key, ScriptedPrompts.always(SECRET_PIN)))
        rp.authenticate(adapter_for(key, ScriptedPrompts.always(SECRET_PIN)), allow_list=True)
        with pytest.raises(KeyCeremonyError):
            rp.authenticate(adapter_for(key, ScriptedPrompts(["wrong-Pin-xyz"])), allow_list=False)
    assert any(e["event"] == "key.pin_requested" for e in events)
    assert any(e["event"] == "key.ceremony_failed" for e in events)
    for event in events:
        assert SECRET_PIN not in repr(event)
        assert "wrong-Pin-xyz" not in repr(event)
    assert caplog.records, "fido2 logs its traffic; the test must see it to mean anything"
    assert any(r.name.startswith("fido2") for r in caplog.records)
    for record in caplog.records:
        text = record.getMessage() + repr(record.__dict__)
        assert SECRET_PIN not in text
        assert "wrong-Pin-xyz" not in text
