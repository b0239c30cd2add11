"""The USB side of the software key: CTAPHID framing in 64-byte reports, channels, keepalives, cancel.

`SoftwareHidConnection` is a `fido2.hid.base.CtapHidConnection`, so python-fido2's own `CtapHidDevice`
drives it exactly as it drives a YubiKey through hidraw. Requests run on a worker thread so that, as on
real hardware, the host can send CANCEL while the key waits for a touch and keeps answering KEEPALIVE.
Malformed reports get CTAPHID ERROR responses; nothing raises out of `write_packet`.
"""

from __future__ import annotations

import logging
import queue
import secrets
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fido2.hid.base import CtapHidConnection

from drill.keys.software_ctap import Presence, SoftwareCtap2

_log = logging.getLogger(__name__)

PACKET_SIZE = 64
BROADCAST_CID = 0xFFFFFFFF
TYPE_INIT = 0x80
CMD_PING, CMD_MSG, CMD_LOCK, CMD_INIT, CMD_WINK = 0x01, 0x03, 0x04, 0x06, 0x08
CMD_CBOR, CMD_CANCEL, CMD_KEEPALIVE, CMD_ERROR = 0x10, 0x11, 0x3B, 0x3F
ERR_INVALID_CMD, ERR_INVALID_PAR, ERR_INVALID_LEN, ERR_INVALID_SEQ = 0x01, 0x02, 0x03, 0x04
ERR_CHANNEL_BUSY, ERR_INVALID_CHANNEL, ERR_OTHER = 0x06, 0x0B, 0x7F
STATUS_PROCESSING, STATUS_UPNEEDED = 0x01, 0x02
CAPABILITIES = 0x01 | 0x04 | 0x08  # WINK, CBOR, NMSG (no U2F: the client must use CTAP2)
MAX_MESSAGE = PACKET_SIZE - 7 + 128 * (PACKET_SIZE - 5)

PresenceCallback = Callable[[threading.Event], bool]
"""Asked for a touch; returns True when the user approves. The event is set if the host cancels or
the wait times out, so a prompt can stop waiting."""


class KeyRemovedError(OSError):
    """The software key was unplugged (or power-cycled) under an open connection."""


@dataclass
class _Assembly:
    cid: int
    cmd: int
    length: int
    data: bytearray
    seq: int
    owner: SoftwareHidConnection


@dataclass
class _Busy:
    cid: int
    owner: SoftwareHidConnection
    cancel: threading.Event = field(default_factory=threading.Event)
    discard: bool = False


class SoftwareHidEngine:
    """The key's HID interface, shared by every connection opened to it."""

    def __init__(
        self,
        core: SoftwareCtap2,
        presence: PresenceCallback,
        *,
        up_timeout: float = 30.0,
        keepalive_interval: float = 0.1,
        device_version: tuple[int, int, int] = (5, 7, 2),
    ) -> None:
        self._core = core
        self._presence = presence
        self._up_timeout = up_timeout
        self._keepalive_interval = keepalive_interval
        self._device_version = device_version
        self._lock = threading.Lock()
        self._channels: set[int] = set()
        self._assembly: dict[int, _Assembly] = {}
        self._busy: _Busy | None = None
        self._connections: list[SoftwareHidConnection] = []

    def connect(self, read_timeout: float = 60.0) -> SoftwareHidConnection:
        conn = SoftwareHidConnection(self, read_timeout)
        with self._lock:
            self._connections.append(conn)
        return conn

    def unplug(self) -> None:
        """Pull the key: open connections fail, a running request is abandoned, channels are forgotten."""
        with self._lock:
            if self._busy is not None:
                self._busy.discard = True
                self._busy.cancel.set()
            self._busy = None
            self._channels.clear()
            self._assembly.clear()
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.removed()

    def _detach(self, conn: SoftwareHidConnection) -> None:
        with self._lock:
            if conn in self._connections:
                self._connections.remove(conn)
            for cid in [c for c, a in self._assembly.items() if a.owner is conn]:
                del self._assembly[cid]
            if self._busy is not None and self._busy.owner is conn:
                self._busy.discard = True
                self._busy.cancel.set()

    # -- outbound -------------------------------------------------------------------------------------

    @staticmethod
    def frames(cid: int, cmd: int, payload: bytes) -> list[bytes]:
        """Split a response into an initialisation packet and continuation packets."""
        packets = []
        head = struct.pack(">IBH", cid, TYPE_INIT | cmd, len(payload))
        first, rest = payload[: PACKET_SIZE - 7], payload[PACKET_SIZE - 7 :]
        packets.append((head + first).ljust(PACKET_SIZE, b"\0"))
        seq = 0
        while rest:
            chunk, rest = rest[: PACKET_SIZE - 5], rest[PACKET_SIZE - 5 :]
            packets.append((struct.pack(">IB", cid, seq) + chunk).ljust(PACKET_SIZE, b"\0"))
            seq += 1
        return packets

    def _send(self, conn: SoftwareHidConnection, cid: int, cmd: int, payload: bytes) -> None:
        for packet in self.frames(cid, cmd, payload):
            conn.deliver(packet)

    def _error(self, conn: SoftwareHidConnection, cid: int, code: int) -> None:
        self._send(conn, cid, CMD_ERROR, bytes([code]))

    # -- inbound --------------------------------------------------------------------------------------

    def receive(self, conn: SoftwareHidConnection, packet: bytes) -> None:
        """Handle one output report from the host; never raises."""
        try:
            self._receive(conn, bytes(packet))
        except Exception:  # noqa: BLE001 - a malformed report must never take the key down
            _log.exception("software key: error handling HID report")

    def _receive(self, conn: SoftwareHidConnection, packet: bytes) -> None:
        if len(packet) < 5:
            return  # not even a channel id and command byte: a real device never sees this
        cid = struct.unpack_from(">I", packet)[0]
        if len(packet) > PACKET_SIZE:
            self._error(conn, cid, ERR_INVALID_LEN)
            return
        packet = packet.ljust(PACKET_SIZE, b"\0")
        kind = packet[4]
        if not kind & TYPE_INIT:
            self._continuation(conn, cid, kind, packet[5:])
            return
        cmd = kind & 0x7F
        length = struct.unpack_from(">H", packet, 5)[0]
        body = packet[7:]
        if cid == 0:
            self._error(conn, cid, ERR_INVALID_CHANNEL)
            return
        if cmd == CMD_INIT:
            self._init(conn, cid, length, body)
            return
        if cid == BROADCAST_CID or cid not in self._channels:
            self._error(conn, cid, ERR_INVALID_CHANNEL)
            return
        if cmd == CMD_CANCEL:
            with self._lock:
                busy = self._busy
                if busy is not None and busy.cid == cid:
                    busy.cancel.set()
            return  # CANCEL never gets a response of its own
        with self._lock:
            busy = self._busy
        if busy is not None:
            self._error(conn, cid, ERR_CHANNEL_BUSY if busy.cid != cid else ERR_INVALID_SEQ)
            return
        if cid in self._assembly:
            del self._assembly[cid]
            self._error(conn, cid, ERR_INVALID_SEQ)
            return
        if length > MAX_MESSAGE:
            self._error(conn, cid, ERR_INVALID_LEN)
            return
        assembly = _Assembly(cid, cmd, length, bytearray(body[:length]), 0, conn)
        if len(assembly.data) >= length:
            self._dispatch(assembly)
        else:
            self._assembly[cid] = assembly

    def _continuation(self, conn: SoftwareHidConnection, cid: int, seq: int, body: bytes) -> None:
        assembly = self._assembly.get(cid)
        if assembly is None or assembly.owner is not conn:
            return  # spurious continuation packets are ignored, as the spec says
        if seq != assembly.seq:
            del self._assembly[cid]
            self._error(conn, cid, ERR_INVALID_SEQ)
            return
        assembly.seq += 1
        assembly.data += body[: assembly.length - len(assembly.data)]
        if len(assembly.data) >= assembly.length:
            del self._assembly[cid]
            self._dispatch(assembly)

    def _init(self, conn: SoftwareHidConnection, cid: int, length: int, body: bytes) -> None:
        if length != 8:
            self._error(conn, cid, ERR_INVALID_LEN)
            return
        nonce = body[:8]
        if cid == BROADCAST_CID:
            new_cid = secrets.randbelow(0xFFFFFFFE) + 1
            with self._lock:
                while new_cid in self._channels:
                    new_cid = secrets.randbelow(0xFFFFFFFE) + 1
                self._channels.add(new_cid)
        elif cid in self._channels:
            new_cid = cid  # resynchronise: abandon whatever this channel was doing
            self._assembly.pop(cid, None)
            with self._lock:
                if self._busy is not None and self._busy.cid == cid:
                    self._busy.discard = True
                    self._busy.cancel.set()
                    self._busy = None
        else:
            self._error(conn, cid, ERR_INVALID_CHANNEL)
            return
        payload = nonce + struct.pack(">IB", new_cid, 2) + bytes(self._device_version) + bytes([CAPABILITIES])
        self._send(conn, cid, CMD_INIT, payload)

    def _dispatch(self, message: _Assembly) -> None:
        data = bytes(message.data)
        if message.cmd == CMD_PING:
            self._send(message.owner, message.cid, CMD_PING, data)
        elif message.cmd == CMD_WINK:
            self._send(message.owner, message.cid, CMD_WINK, b"")
        elif message.cmd == CMD_CBOR:
            if not data:
                self._error(message.owner, message.cid, ERR_INVALID_LEN)
                return
            busy = _Busy(message.cid, message.owner)
            with self._lock:
                self._busy = busy
            threading.Thread(
                target=self._run_cbor, args=(busy, data), daemon=True, name="software-key"
            ).start()
        else:  # MSG (no U2F on this key), LOCK (capability not offered), vendor commands
            self._error(message.owner, message.cid, ERR_INVALID_CMD)

    def _run_cbor(self, busy: _Busy, request: bytes) -> None:
        def wait_for_presence() -> Presence:
            return self._wait_for_presence(busy)

        try:
            response = self._core.process(request, wait_for_presence)
        except Exception:  # noqa: BLE001 - process() promises not to raise; keep that promise regardless
            _log.exception("software key: CTAP core failed")
            response = bytes([ERR_OTHER])
        with self._lock:
            if self._busy is busy:
                self._busy = None
            if busy.discard:
                return
        self._send(busy.owner, busy.cid, CMD_CBOR, response)

    def _wait_for_presence(self, busy: _Busy) -> Presence:
        """Ask the presence callback while sending KEEPALIVE(UPNEEDED) and watching for CANCEL."""
        if busy.cancel.is_set():
            return Presence.CANCELLED
        stop = threading.Event()
        done = threading.Event()
        answer: list[bool] = []

        def ask() -> None:
            try:
                answer.append(bool(self._presence(stop)))
            except Exception:  # noqa: BLE001 - a failing prompt is a refused touch, not a crashed key
                _log.exception("software key: presence callback failed")
                answer.append(False)
            done.set()

        threading.Thread(target=ask, daemon=True, name="software-key-presence").start()
        deadline = time.monotonic() + self._up_timeout
        while True:
            if not busy.discard:
                self._send(busy.owner, busy.cid, CMD_KEEPALIVE, bytes([STATUS_UPNEEDED]))
            if done.wait(self._keepalive_interval):
                return Presence.APPROVED if answer and answer[0] else Presence.DENIED
            if busy.cancel.is_set():
                stop.set()
                return Presence.CANCELLED
            if time.monotonic() > deadline:
                stop.set()
                return Presence.TIMEOUT


class SoftwareHidConnection(CtapHidConnection):
    """One open handle to the software key, as `open_connection(descriptor)` gives for hardware."""

    def __init__(self, engine: SoftwareHidEngine, read_timeout: float = 60.0) -> None:
        self._engine = engine
        self._inbox: queue.Queue[bytes | None] = queue.Queue()
        self._read_timeout = read_timeout
        self._gone = False

    def deliver(self, packet: bytes) -> None:
        self._inbox.put(packet)

    def removed(self) -> None:
        self._gone = True
        self._inbox.put(None)

    def write_packet(self, data: bytes) -> None:
        if self._gone:
            raise KeyRemovedError("the software key was removed")
        self._engine.receive(self, data)

    def read_packet(self) -> bytes:
        if self._gone and self._inbox.empty():
            raise KeyRemovedError("the software key was removed")
        try:
            packet = self._inbox.get(timeout=self._read_timeout)
        except queue.Empty as exc:
            raise KeyRemovedError("the software key stopped answering") from exc
        if packet is None:
            raise KeyRemovedError("the software key was removed")
        return packet

    def close(self) -> None:
        self._engine._detach(self)
        self._gone = True
