"""The ledger: one signed, hash-chained JSON line per drill and per keyless check.

Why a chain and a signature both: the chain (`prev` = SHA-256 of the previous line) makes a reordered,
removed or edited line in the middle visible; the Ed25519 signature on each line makes an edit of the last
line visible too. Truncation of the tail is only visible against an anchor kept elsewhere, so every drill
and `verify` print the head hash for the operator to record (ticket, CMDB), and `check_head` compares it.

A signature proves only that the holder of *some* key wrote the line: anyone can write a whole ledger with
a key of their own. So a reader that acts on the ledger (the scheduler, `drill schedule status`) pins the
key it expects and uses only `LedgerReport.verified` lines; one ledger signed by several keys is a problem.

Appends copy the old bytes unchanged plus one new line into a temp file, fsync and rename it: a crash
leaves the old ledger or the new one, and existing lines are never rewritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drill.errors import DrillUserError
from drill.evidence.controls import card_status
from drill.evidence.model import DrillRecord
from drill.evidence.signing import Signer, fingerprint, public_key_from_b64, verify_signature
from drill.fsutil import O_NOFOLLOW, PRIVATE_FILE, atomic_write, private_mkdir

LEDGER_VERSION = 1
LEDGER_NAME = "ledger.jsonl"  # its name beside the bundles in an evidence folder
GENESIS = "0" * 64
KIND_DRILL = "drill"
KIND_KEYLESS_CHECK = "keyless-check"
KIND_UNPLANNED_USE = "unplanned-use"  # break-glass activity that matches no drill (the scheduler's watch)
KIND_AUDIT = "audit"  # one posture audit (`drill audit`, and the scheduler's daily audit)
KIND_REVIEW = "review"  # the post-use review of one unplanned use (`drill review`)
_RESERVED = frozenset({"v", "seq", "prev", "recorded_at", "public_key", "signer", "sig"})


def canonical(obj: Mapping[str, Any]) -> bytes:
    """The one byte form of a line: sorted keys, no spaces, ASCII; verify rejects any other spelling."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def line_hash(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """One writer at a time beside `path` (the scheduler and a manual drill may finish together)."""
    lock = path.with_name(path.name + ".lock")
    try:  # never through a link planted at the lock's name: it would create or lock a file elsewhere
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | O_NOFOLLOW, PRIVATE_FILE)
    except OSError as exc:
        if not lock.is_symlink():
            raise
        raise DrillUserError(
            f"{lock}: the ledger lock is a symbolic link, refused; remove it if you did not make it"
        ) from exc
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock on both platforms


def append(path: Path, entry: Mapping[str, Any], signer: Signer) -> dict[str, Any]:
    """Append one signed line (`entry` needs at least `kind`); returns the line as written.

    Refuses (DrillUserError) to extend a ledger whose last line is unreadable: fail closed, and the
    operator runs `drill verify --ledger` to see why. A drill this writer already recorded (a concurrent
    `reconcile` got there first: same id and manifest hash, signed by this key) is not appended twice: its
    existing line is returned. A line with its id that another key signed stands for nothing.
    """
    if not isinstance(entry.get("kind"), str) or not entry["kind"]:
        raise ValueError("a ledger entry needs a non-empty 'kind'")
    clash = _RESERVED & entry.keys()
    if clash:
        raise ValueError(f"ledger entry may not set reserved fields: {sorted(clash)}")
    private_mkdir(path.parent)
    with locked(path):
        old = path.read_bytes() if path.exists() else b""
        prev, seq = GENESIS, 0
        if old:
            if not old.endswith(b"\n"):
                raise DrillUserError(
                    f"{path}: the last line is torn (no newline); run `drill verify --ledger {path}`"
                )
            last = old.rstrip(b"\n").rsplit(b"\n", 1)[-1]
            try:
                seq = int(json.loads(last)["seq"])
            except (ValueError, KeyError, TypeError) as exc:
                raise DrillUserError(
                    f"{path}: the last line is not a ledger line; run `drill verify --ledger {path}`"
                ) from exc
            prev = line_hash(last)
            existing = _existing_drill(old, entry, signer)
            if existing is not None:
                return existing
        line: dict[str, Any] = dict(entry)
        line.update(
            v=LEDGER_VERSION,
            seq=seq + 1,
            prev=prev,
            recorded_at=datetime.now(UTC).isoformat(),
            public_key=signer.public_b64,
            signer=signer.fingerprint,
        )
        line["sig"] = signer.sign(canonical(line))
        atomic_write(path, old + canonical(line) + b"\n")
    return line


def _existing_drill(old: bytes, entry: Mapping[str, Any], signer: Signer) -> dict[str, Any] | None:
    """This drill's line, if this writer already wrote it: the same id and manifest hash, signed by its key.

    Anyone who can write the reports folder can append a line with a running drill's id; counting it would
    leave the drill unrecorded (its genuine line never written, filing and reconcile misled), so only a
    line this key signed, over this very manifest, stands for the drill.
    """
    if entry.get("kind") != KIND_DRILL or not entry.get("drill_id"):
        return None
    needle = canonical({"drill_id": entry["drill_id"]})[1:-1]  # "drill_id":"..." as it appears in a line
    for raw in old.splitlines():
        if needle in raw:
            try:
                found = json.loads(raw)
            except ValueError:
                continue
            if (
                isinstance(found, dict)
                and found.get("kind") == KIND_DRILL
                and found.get("drill_id") == entry["drill_id"]
                and found.get("manifest_sha256") == entry.get("manifest_sha256")
                and signed_by(found, {signer.fingerprint})
            ):
                return found
    return None


def signed_by(entry: Mapping[str, Any], fingerprints: set[str]) -> bool:
    """Whether a parsed line carries a valid signature by one of `fingerprints` (its place in the chain is
    `verify`'s business): the test a reader applies before it lets one line stand for a fact."""
    sig, public = entry.get("sig"), entry.get("public_key")
    if not isinstance(sig, str) or not isinstance(public, str):
        return False
    try:
        fp = fingerprint(public_key_from_b64(public).public_bytes_raw())
    except ValueError:
        return False
    if fp not in fingerprints or entry.get("signer") != fp:
        return False
    return verify_signature(public, canonical({k: v for k, v in entry.items() if k != "sig"}), sig)


def drill_entry(record: DrillRecord, bundle: str, manifest_sha256: str) -> dict[str, Any]:
    """The facts of one finished drill the scheduler and the history page need without opening bundles."""
    t = record.timings
    return {
        "kind": KIND_DRILL,
        "drill_id": record.drill_id,
        "account": record.account_name,
        "account_upn": record.account_upn,
        "tenant_id": record.tenant_id,
        "verdict": record.verdict.value,
        "reason": record.reason,
        "started_at": record.started_at.isoformat(),
        "ended_at": record.ended_at.isoformat() if record.ended_at else None,
        "next_due": record.next_due.isoformat() if record.next_due else None,
        "bundle": bundle,
        "manifest_sha256": manifest_sha256,
        # Who took part (the practice check, BG.PROC.4) and the emergency card's confirmation (the audit
        # compares the last confirmed code with today's card).
        "operator": record.operator.get("name") if isinstance(record.operator.get("name"), str) else None,
        "witness": record.witness,
        "card": card_status(record.confirmations),
        # What the unplanned-use watch matches activity against, besides the drill's time window.
        "correlation_ids": correlation_ids(record),
        "timings": {
            "signin_s": t.signin_s,
            "ingestion_latency_s": t.ingestion_latency_s,
            "time_to_row_s": t.time_to_row_s,
            "detection_lag_s": t.detection_lag_s,
            "time_to_alert_s": t.time_to_alert_s,
        },
    }


def correlation_ids(record: DrillRecord) -> list[str]:
    """The CorrelationIds of the drill's own log rows (sign-in row, admin task's audit row), as evidenced."""
    found: list[str] = []
    for step in record.steps:
        for check in step.checks:
            value = check.evidence.get("CorrelationId") if isinstance(check.evidence, dict) else None
            if isinstance(value, str) and value and value != "None" and value not in found:
                found.append(value)
    return found


@dataclass
class LedgerReport:
    """What verify found: `problems` name `PATH:LINE`; `head` is the last line's hash (the anchor to keep)."""

    path: Path
    entries: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    head: str = GENESIS
    fingerprints: set[str] = field(default_factory=set)
    verified: list[dict[str, Any]] = field(default_factory=list)  # lines with no problem of their own
    hashes: list[str] = field(default_factory=list)  # each line's hash, in order (for `check_head`)
    notes: list[str] = field(default_factory=list)  # worth saying, not a failure

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(path: Path, trusted_fingerprints: set[str] | None = None) -> LedgerReport:
    """Check every line: canonical JSON, sequence, chain, signature (and signer, when pinned)."""
    report = LedgerReport(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        report.problems.append(f"{path}: cannot read the ledger ({exc.strerror})")
        return report
    lines = data.split(b"\n")
    torn = lines.pop() if lines else b""  # after the final newline: empty unless the last line is torn
    prev = GENESIS
    for number, raw in enumerate(lines, 1):
        problem = _check_line(raw, number, prev, trusted_fingerprints, report)
        if problem:
            report.problems.append(f"{path}:{number}: {problem}")
        elif report.entries:
            report.verified.append(report.entries[-1])
        prev = line_hash(raw)
        report.hashes.append(prev)
    if torn:
        report.problems.append(f"{path}:{len(lines) + 1}: torn last line (no newline)")
    if len(report.fingerprints) > 1:
        # One workstation (or one playbook key) writes a ledger; a second key means lines were forged or
        # spliced in from elsewhere, and without a pin nothing says which key is the real one.
        report.problems.append(
            f"{path}: signed by {len(report.fingerprints)} different keys "
            f"({', '.join(sorted(report.fingerprints))}): mixed signers, lines forged or spliced in"
        )
    report.head = prev
    return report


def check_head(report: LedgerReport, expected: str) -> str | None:
    """Compare the ledger with a head hash recorded earlier (`--expect-head`); a problem, or None.

    The recorded head must still be a line of the ledger: lines appended since are fine (noted), but a
    ledger that no longer holds that line was truncated or rewritten, which the chain alone cannot show.
    """
    want = expected.strip().lower()
    if want == report.head:
        return None
    if want in report.hashes:
        later = len(report.hashes) - report.hashes.index(want) - 1
        report.notes.append(
            f"{report.path}: the expected head is line {len(report.hashes) - later}; "
            f"{later} line(s) appended since, new head {report.head}"
        )
        return None
    return (
        f"{report.path}: no line has the expected head hash {want} (head is now {report.head}, "
        f"{len(report.hashes)} line(s)): the ledger was truncated or rewritten since that hash was recorded"
    )


def head_of(path: Path) -> str:
    """The hash of the ledger's last line as it is on disk now (what an auditor records)."""
    try:
        data = path.read_bytes()
    except OSError:
        return GENESIS
    lines = data.rstrip(b"\n").split(b"\n")
    return line_hash(lines[-1]) if lines and lines[-1] else GENESIS


def _check_line(
    raw: bytes, number: int, prev: str, trusted: set[str] | None, report: LedgerReport
) -> str | None:
    try:
        entry = json.loads(raw)
    except ValueError:
        return "not JSON (edited or torn)"
    if not isinstance(entry, dict):
        return "not a JSON object"
    report.entries.append(entry)
    if canonical(entry) != raw:
        return "not in canonical form (edited by hand?)"
    if entry.get("seq") != number:
        return f"sequence number {entry.get('seq')!r}, expected {number} (lines reordered, removed, inserted)"
    if entry.get("prev") != prev:
        return "hash chain broken: 'prev' is not the previous line's hash (earlier line edited or moved)"
    sig, public = entry.get("sig"), entry.get("public_key")
    if not isinstance(sig, str) or not isinstance(public, str):
        return "unsigned line"
    unsigned = {k: v for k, v in entry.items() if k != "sig"}
    if not verify_signature(public, canonical(unsigned), sig):
        return "signature does not verify (line edited)"
    try:
        fp = fingerprint(public_key_from_b64(public).public_bytes_raw())
    except ValueError:
        return "malformed public key"
    if entry.get("signer") != fp:
        return "signer fingerprint does not match the line's public key"
    report.fingerprints.add(fp)
    if trusted is not None and fp not in trusted:
        return f"signed by {fp}, which is not a trusted key"
    return None


def read_entries(path: Path, kind: str | None = None, account: str | None = None) -> list[dict[str, Any]]:
    """Entries in order, filtered; unreadable lines are skipped (use `verify` to judge the ledger)."""
    if not path.exists():
        return []
    out = []
    for raw in path.read_bytes().splitlines():
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        if kind is not None and entry.get("kind") != kind:
            continue
        if account is not None and entry.get("account") != account:
            continue
        out.append(entry)
    return out
