"""The retry guard refuses before any PIN is sent (the software key standing in for hardware)."""

from __future__ import annotations

import threading

import pytest
from fido2.ctap import CtapError
from fido2.ctap2 import ClientPin, Ctap2
from keys_support import ORIGIN, PIN, RP_ID, RelyingParty, adapter_for

from drill.keys.authenticator import effective_guard
from drill.keys.errors import PinGuardError
from drill.keys.prompts import ScriptedPrompts
from drill.keys.software import SoftwareKey


def _spend_retries(key: SoftwareKey, count: int) -> None:
    """Wrong PINs sent directly over CTAP, power-cycling as a user would after each lock-out."""
    for attempt in range(count):
        if attempt and attempt % 3 == 0:
            key.power_cycle()
        device = key.open_device()
        with pytest.raises(CtapError):
            ClientPin(Ctap2(device)).get_pin_token("999999", ClientPin.PERMISSION.GET_ASSERTION, RP_ID)
        device.close()
    key.power_cycle()


def _retries(key: SoftwareKey) -> int:
    device = key.open_device()
    try:
        return int(ClientPin(Ctap2(device)).get_pin_retries()[0])
    finally:
        device.close()


def test_guard_refuses_at_threshold_before_any_pin_is_sent(key: SoftwareKey, rp: RelyingParty) -> None:
    rp.register(adapter_for(key, ScriptedPrompts.always(PIN)))
    _spend_retries(key, 5)
    assert _retries(key) == 3
    prompts = ScriptedPrompts.always(PIN)
    auth = adapter_for(key, prompts, guard=3)
    options, _state = rp.server.authenticate_begin(user_verification="required")
    with pytest.raises(PinGuardError) as info:
        auth.get_assertion(dict(options)["publicKey"], ORIGIN, threading.Event())
    assert info.value.name == "NotAllowedError"
    assert info.value.retries == 3
    assert "no PIN was sent" in info.value.message
    assert prompts.pin_requests == []  # the operator was never even asked
    assert _retries(key) == 3  # and the key saw no PIN attempt


def test_guard_allows_above_threshold(key: SoftwareKey, rp: RelyingParty) -> None:
    rp.register(adapter_for(key, ScriptedPrompts.always(PIN)))
    _spend_retries(key, 4)
    prompts = ScriptedPrompts.always(PIN)
    rp.authenticate(adapter_for(key, prompts, guard=3), allow_list=False)
    assert prompts.pin_requests == [4]
    assert _retries(key) == 8


def test_guard_is_never_below_two(key: SoftwareKey, rp: RelyingParty) -> None:
    assert effective_guard(None) == 3
    assert effective_guard(0) == 2
    assert effective_guard(1) == 2
    assert effective_guard(5) == 5
    rp.register(adapter_for(key, ScriptedPrompts.always(PIN)))
    _spend_retries(key, 6)
    prompts = ScriptedPrompts.always(PIN)
    with pytest.raises(PinGuardError):
        rp.authenticate(adapter_for(key, prompts, guard=1), allow_list=False)
    assert prompts.pin_requests == []
