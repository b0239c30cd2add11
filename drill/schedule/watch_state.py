"""The scheduler's own record of the ledger head it last wrote, and of the tables its last watch read.

The ledger's chain shows a line edited or removed in the middle, not a tail cut off: rolled back to before
an `unplanned-use` line, the ledger is a shorter, valid ledger, and `drill schedule status` would show no
unreviewed use. So after each watch the scheduler keeps the ledger's head (line number and line hash) in
its own state folder, in an owner-only file signed with the evidence key, and both the next watch and
`drill schedule status` report a ledger that no longer holds that line. Once seen, a rollback stays
recorded (the head is not moved past it) until the ledger holds the line again (restored from a copy) or
the operator removes this file on purpose.

One file per tenant and ledger (the ledger's resolved path is part of the name): `status --ledger COPY`
never compares a copy with the head of another ledger.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from drill.evidence.ledger import GENESIS, LedgerReport, canonical
from drill.evidence.signing import Signer, fingerprint, public_key_from_b64, verify_signature
from drill.fsutil import atomic_write, private_mkdir

VERSION = 1


def default_state_dir() -> Path:
    """The scheduler's state folder: $DRILL_STATE_DIR/schedule (job store, sent notices, this record)."""
    from drill.evidence.signing import default_state_dir as base

    return base() / "schedule"


def state_path(state_dir: Path, tenant_id: str, ledger_path: Path) -> Path:
    key = hashlib.sha256(f"{tenant_id}\n{ledger_path.resolve()}".encode()).hexdigest()[:16]
    return state_dir / f"watch-{key}.json"


@dataclass(frozen=True)
class WatchState:
    """What the scheduler last wrote and read for one tenant's ledger."""

    tenant_id: str
    ledger: str
    seq: int  # the ledger's line count when the head was recorded
    head: str  # that line's hash (ledger.line_hash)
    checked_at: str
    coverage: Mapping[str, Any] = field(default_factory=dict)  # watch.Coverage.as_dict()
    # Set once a watch found the recorded head gone; kept until the ledger holds it again.
    rolled_back_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "tenant_id": self.tenant_id,
            "ledger": self.ledger,
            "seq": self.seq,
            "head": self.head,
            "checked_at": self.checked_at,
            "coverage": dict(self.coverage),
            "rolled_back_at": self.rolled_back_at,
        }


def save(path: Path, state: WatchState, signer: Signer) -> None:
    body = state.as_dict()
    body.update(public_key=signer.public_b64, signer=signer.fingerprint)
    body["sig"] = signer.sign(canonical(body))
    private_mkdir(path.parent)
    atomic_write(path, canonical(body) + b"\n")


def load(path: Path, trusted: Collection[str]) -> tuple[WatchState | None, str | None]:
    """(record, None), (None, None) when there is none, or (None, problem) when it does not verify."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"{path}: cannot read the scheduler's state ({exc.strerror})"
    try:
        body = json.loads(raw)
        sig, public = body.pop("sig"), body["public_key"]
        signed_by = fingerprint(public_key_from_b64(public).public_bytes_raw())
        valid = verify_signature(public, canonical(body), sig) and body.get("signer") == signed_by
        state = WatchState(
            tenant_id=str(body["tenant_id"]),
            ledger=str(body["ledger"]),
            seq=int(body["seq"]),
            head=str(body["head"]),
            checked_at=str(body["checked_at"]),
            coverage=dict(body.get("coverage") or {}),
            rolled_back_at=body.get("rolled_back_at"),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, f"{path}: the scheduler's state is not a record it wrote (edited or damaged)"
    if not valid:
        return None, f"{path}: the scheduler's state signature does not verify (edited?)"
    if signed_by not in trusted:
        return None, f"{path}: the scheduler's state is signed by {signed_by}, not the pinned evidence key"
    return state, None


def rollback(state: WatchState, report: LedgerReport | None) -> str | None:
    """Why the ledger no longer holds the head the scheduler recorded, or None when it does."""
    hashes = report.hashes if report is not None else []
    if state.head == GENESIS or state.head in hashes:
        return None
    where = report.path if report is not None else Path(state.ledger)
    now = f"{len(hashes)} line(s)" if report is not None else "no ledger at all"
    return (
        f"LEDGER ROLLED BACK? The scheduler last wrote {where} at line {state.seq} (head {state.head[:16]}…, "
        f"{state.checked_at}); the ledger now has {now} and no longer holds that line: lines were removed "
        "(an unplanned use and its review among them, perhaps), so 'no unreviewed use' cannot be trusted. "
        f"Restore the ledger from a copy (filed copies, backups); `drill verify --ledger {where} "
        f"--expect-head {state.head}` shows it."
    )


def record_after(
    previous: WatchState | None,
    report_after: LedgerReport | None,
    tenant_id: str,
    ledger_path: Path,
    now: datetime,
    coverage: Mapping[str, Any],
) -> WatchState:
    """The record to keep after a watch: the ledger's head now, unless the recorded head is gone (then
    the old head stays, with the time the rollback was first seen)."""
    if previous is not None and rollback(previous, report_after) is not None:
        return WatchState(
            previous.tenant_id,
            previous.ledger,
            previous.seq,
            previous.head,
            now.isoformat(),
            coverage,
            previous.rolled_back_at or now.isoformat(),
        )
    hashes = report_after.hashes if report_after is not None else []
    return WatchState(
        tenant_id,
        str(ledger_path.resolve()),
        len(hashes),
        hashes[-1] if hashes else GENESIS,
        now.isoformat(),
        coverage,
    )
