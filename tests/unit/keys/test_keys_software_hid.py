"""Frame level: the software key's CTAPHID side answers malformed input with errors, never exceptions."""

from __future__ import annotations

import copy
import os
import struct
import threading
import uuid
from collections.abc import Callable

import pytest
from fido2 import cbor
from fido2.ctap import CtapError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drill.keys.software import SoftwareKey
from drill.keys.software_ctap import Presence, SoftwareCtap2
from drill.keys.software_hid import (
    BROADCAST_CID,
    CMD_CANCEL,
    CMD_CBOR,
    CMD_ERROR,
    CMD_INIT,
    CMD_KEEPALIVE,
    CMD_MSG,
    CMD_PING,
    CMD_WINK,
    ERR_CHANNEL_BUSY,
    ERR_INVALID_CHANNEL,
    ERR_INVALID_CMD,
    ERR_INVALID_LEN,
    ERR_INVALID_SEQ,
    SoftwareHidConnection,
    SoftwareHidEngine,
)
from drill.keys.software_state import KeyState

ERR = CtapError.ERR


def send(conn: SoftwareHidConnection, cid: int, cmd: int, payload: bytes = b"") -> None:
    for packet in SoftwareHidEngine.frames(cid, cmd, payload):
        conn.write_packet(packet)


def receive(conn: SoftwareHidConnection, cid: int, keepalives: list[int] | None = None) -> tuple[int, bytes]:
    """Read one whole response on `cid`, collecting KEEPALIVE statuses on the way."""
    while True:
        packet = conn.read_packet()
        assert len(packet) == 64
        r_cid, kind, length = struct.unpack_from(">IBH", packet)
        assert r_cid == cid
        cmd = kind & 0x7F
        if cmd == CMD_KEEPALIVE:
            if keepalives is not None:
                keepalives.append(packet[7])
            continue
        data = packet[7 : 7 + length]
        seq = 0
        while len(data) < length:
            cont = conn.read_packet()
            assert struct.unpack_from(">IB", cont) == (cid, seq)
            data += cont[5 : 5 + length - len(data)]
            seq += 1
        return cmd, data


def allocate(conn: SoftwareHidConnection) -> int:
    nonce = os.urandom(8)
    send(conn, BROADCAST_CID, CMD_INIT, nonce)
    cmd, data = receive(conn, BROADCAST_CID)
    assert cmd == CMD_INIT
    assert data[:8] == nonce
    return int(struct.unpack_from(">I", data, 8)[0])


@pytest.fixture
def conn(key: SoftwareKey) -> SoftwareHidConnection:
    return key.connect(read_timeout=10)


def test_init_allocates_a_channel_and_reports_ctap2_without_u2f(conn: SoftwareHidConnection) -> None:
    nonce = os.urandom(8)
    send(conn, BROADCAST_CID, CMD_INIT, nonce)
    cmd, data = receive(conn, BROADCAST_CID)
    assert cmd == CMD_INIT
    cid, protocol, *_version, capabilities = struct.unpack_from(">IBBBBB", data, 8)
    assert cid not in (0, BROADCAST_CID)
    assert protocol == 2
    assert capabilities & 0x04  # CBOR
    assert capabilities & 0x08  # NMSG: no U2F, so the client cannot silently fall back


def test_ping_echoes_across_continuation_packets(conn: SoftwareHidConnection) -> None:
    cid = allocate(conn)
    payload = os.urandom(300)
    send(conn, cid, CMD_PING, payload)
    assert receive(conn, cid) == (CMD_PING, payload)
    send(conn, cid, CMD_WINK)
    assert receive(conn, cid) == (CMD_WINK, b"")


@pytest.mark.parametrize("cmd", [CMD_MSG, 0x04, 0x55, 0x40])
def test_unknown_or_unsupported_commands_give_invalid_cmd(conn: SoftwareHidConnection, cmd: int) -> None:
    cid = allocate(conn)
    send(conn, cid, cmd, b"\x00\x01")
    assert receive(conn, cid) == (CMD_ERROR, bytes([ERR_INVALID_CMD]))


def test_channel_errors(conn: SoftwareHidConnection) -> None:
    send(conn, 0x12345678, CMD_PING, b"x")  # never allocated
    assert receive(conn, 0x12345678) == (CMD_ERROR, bytes([ERR_INVALID_CHANNEL]))
    send(conn, 0, CMD_PING, b"x")
    assert receive(conn, 0) == (CMD_ERROR, bytes([ERR_INVALID_CHANNEL]))
    send(conn, BROADCAST_CID, CMD_PING, b"x")  # broadcast is for INIT only
    assert receive(conn, BROADCAST_CID) == (CMD_ERROR, bytes([ERR_INVALID_CHANNEL]))
    send(conn, BROADCAST_CID, CMD_INIT, b"short")
    assert receive(conn, BROADCAST_CID) == (CMD_ERROR, bytes([ERR_INVALID_LEN]))


def test_bad_framing(conn: SoftwareHidConnection) -> None:
    cid = allocate(conn)
    # A continuation packet with the wrong sequence number aborts the message.
    first, _second = SoftwareHidEngine.frames(cid, CMD_PING, os.urandom(80))
    conn.write_packet(first)
    conn.write_packet(struct.pack(">IB", cid, 5).ljust(64, b"\0"))
    assert receive(conn, cid) == (CMD_ERROR, bytes([ERR_INVALID_SEQ]))
    # Oversized reports, and reports too short to carry a header, are refused or dropped.
    conn.write_packet(struct.pack(">IBH", cid, 0x80 | CMD_PING, 1).ljust(70, b"\0"))
    assert receive(conn, cid) == (CMD_ERROR, bytes([ERR_INVALID_LEN]))
    conn.write_packet(b"\x01\x02\x03")
    conn.write_packet(struct.pack(">IB", cid, 0).ljust(64, b"\0"))  # spurious continuation: ignored
    send(conn, cid, CMD_CBOR, b"")
    assert receive(conn, cid) == (CMD_ERROR, bytes([ERR_INVALID_LEN]))
    conn.write_packet(struct.pack(">IBH", cid, 0x80 | CMD_PING, 0xFFFF).ljust(64, b"\0"))
    assert receive(conn, cid) == (CMD_ERROR, bytes([ERR_INVALID_LEN]))
    send(conn, cid, CMD_PING, b"still alive")
    assert receive(conn, cid) == (CMD_PING, b"still alive")


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"\x55", ERR.INVALID_COMMAND),
        (b"\x01\xff\xff", ERR.INVALID_CBOR),
        (b"\x01\xa1\x01", ERR.INVALID_CBOR),  # map with a key and no value
        (b"\x01" + cbor.encode([1, 2]), ERR.CBOR_UNEXPECTED_TYPE),
        (b"\x01" + cbor.encode({1: b"\0" * 32}), ERR.MISSING_PARAMETER),
        (b"\x01" + cbor.encode({1: "text", 2: {}, 3: {}, 4: []}), ERR.CBOR_UNEXPECTED_TYPE),
        (b"\x02" + cbor.encode({1: "rp.test", 2: b"\0" * 32, 5: {"up": 1}}), ERR.CBOR_UNEXPECTED_TYPE),
        (b"\x06" + cbor.encode({1: 2, 2: 0x42}), ERR.INVALID_SUBCOMMAND),
        (b"\x06" + cbor.encode({1: 7, 2: 2}), ERR.INVALID_PARAMETER),
        (b"\x08", ERR.NOT_ALLOWED),
    ],
)
def test_bad_ctap_requests_give_ctap_status_codes(
    conn: SoftwareHidConnection, request_bytes: bytes, status: int
) -> None:
    cid = allocate(conn)
    send(conn, cid, CMD_CBOR, request_bytes)
    assert receive(conn, cid) == (CMD_CBOR, bytes([status]))


def test_get_info_is_canonical_cbor(conn: SoftwareHidConnection) -> None:
    cid = allocate(conn)
    send(conn, cid, CMD_CBOR, b"\x04")
    cmd, data = receive(conn, cid)
    assert cmd == CMD_CBOR
    assert data[0] == 0
    info = cbor.decode(data[1:])
    assert cbor.encode(info) == data[1:]
    assert info[1] == ["FIDO_2_0", "FIDO_2_1"]


def test_busy_channel_keepalive_and_cancel(make_key: Callable[..., SoftwareKey]) -> None:
    waiting = threading.Event()

    def presence(stop: threading.Event) -> bool:
        waiting.set()
        stop.wait(10)
        return False

    key = make_key(presence=presence)
    conn = key.connect(read_timeout=10)
    other = key.connect(read_timeout=10)
    cid, other_cid = allocate(conn), allocate(other)
    send(conn, cid, CMD_CBOR, b"\x0b")  # authenticatorSelection: waits for a touch
    assert waiting.wait(10)
    send(other, other_cid, CMD_PING, b"x")
    assert receive(other, other_cid) == (CMD_ERROR, bytes([ERR_CHANNEL_BUSY]))
    send(conn, cid, CMD_CANCEL)
    keepalives: list[int] = []
    assert receive(conn, cid, keepalives) == (CMD_CBOR, bytes([ERR.KEEPALIVE_CANCEL]))
    assert keepalives
    assert set(keepalives) == {2}  # STATUS_UPNEEDED


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(packets=st.lists(st.binary(min_size=0, max_size=80), max_size=6))
def test_random_reports_never_raise_and_the_key_keeps_answering(
    key: SoftwareKey, packets: list[bytes]
) -> None:
    conn = key.connect(read_timeout=10)
    for packet in packets:
        conn.write_packet(packet)
    fresh = key.connect(read_timeout=10)
    cid = allocate(fresh)
    send(fresh, cid, CMD_PING, b"ok")
    cmd, data = receive(fresh, cid)
    assert (cmd, data) in ((CMD_PING, b"ok"), (CMD_ERROR, bytes([ERR_CHANNEL_BUSY])))
    conn.close()
    fresh.close()


_cbor_values = st.recursive(
    st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.binary(max_size=40) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.integers(-3, 12) | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=12,
)
_requests = st.binary(max_size=200) | st.builds(
    lambda cmd, params: bytes([cmd]) + cbor.encode(params),
    st.sampled_from([0x01, 0x02, 0x04, 0x06, 0x07, 0x08, 0x0B, 0x0C, 0x41]),
    st.dictionaries(st.integers(1, 12), _cbor_values, max_size=8),
)


# A key with a PIN set, made once: setting a PIN runs the 20,000-round PBKDF2 (~15 ms), which 200 examples
# paid for nothing. Each example still gets its own deep copy, so no request can change another's key.
_FUZZ_KEY = KeyState(aaguid=uuid.uuid4(), model="fuzz")
_FUZZ_KEY.set_pin_hash(b"\x01" * 16)


def _check_core_answer(request: bytes) -> None:
    state = copy.deepcopy(_FUZZ_KEY)
    core = SoftwareCtap2(state, lambda: None)
    response = core.process(request, lambda: Presence.APPROVED)
    assert isinstance(response, bytes)
    assert len(response) >= 1
    if response[0] == 0 and len(response) > 1:
        assert cbor.encode(cbor.decode(response[1:])) == response[1:]


@settings(max_examples=200, deadline=None)
@given(request=_requests)
def test_ctap_core_answers_any_request_with_a_status(request: bytes) -> None:
    _check_core_answer(request)
