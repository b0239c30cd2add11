"""What `drill report` may claim about a bundle: only what `drill verify` can stand behind.

A JUnit file or a ticket is read as the result, by people and dashboards that never run `drill verify`.
So a bundle whose signature, manifest or report does not verify (deleted `manifest.sig`, edited
`report.json`, a signer outside `--trust`) is rendered as INCOMPLETE with the verifier's reasons, and
none of the steps it claims: a forged "every check passed" must not reach the dashboard even as detail.
The lone step left is an ERROR, so JUnit consumers that count failures and errors show it red too.
A bundle that verifies only against the key it carries (no `--trust`) is anyone's: it renders with that
said, JUnit adds a failing "signer pinned" case, and `drill report` exits 4 as `drill verify` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from drill.evidence import manifest
from drill.evidence.model import DrillRecord, Status, StepResult, Verdict
from drill.evidence.verify import BundleResult, verify_bundle

_SHOWN = 5  # problems quoted in the reason; `drill verify` lists them all


@dataclass(frozen=True)
class Reportable:
    """The record a renderer may show, the verifier's status, and a line saying who vouches for it."""

    record: DrillRecord
    status: str  # VALID, INVALID or INCOMPLETE, as `drill verify` says
    attestation: str
    problems: list[str] = field(default_factory=list)
    unpinned: bool = False  # VALID against the key the bundle carries, none pinned: `drill report` exits 4


def attestation(result: BundleResult, trusted: set[str] | None) -> str:
    """Who vouches for a VALID bundle: the signer's fingerprint, and whether that key was pinned."""
    pin = "pinned by --trust" if trusted else "NOT pinned: pass --trust FINGERPRINT to require this key"
    return f"VALID, signed by {result.fingerprint} ({pin})"


def reportable(
    folder: Path, *, trusted: set[str] | None = None, result: BundleResult | None = None
) -> Reportable:
    """Verify the bundle first (or take the caller's verification of it, made with the same `trusted`);
    a VALID bundle renders as recorded (saying whether its key was pinned), anything else as INCOMPLETE."""
    result = result or verify_bundle(folder, trusted=trusted)
    if result.status == "VALID" and result.record is not None:
        words = attestation(result, trusted)
        return Reportable(result.record, "VALID", words, unpinned=not trusted)
    status = result.status if result.status != "VALID" else "INCOMPLETE"
    problems = result.problems or ["report.json: no drill record in the bundle"]
    return Reportable(_unverified(folder, status, problems), status, f"{status}: not verified", problems)


def _claimed(folder: Path) -> DrillRecord | None:
    try:
        return DrillRecord.model_validate_json((folder / manifest.REPORT_JSON).read_bytes())
    except (OSError, ValidationError, ValueError):
        return None


def _unverified(folder: Path, status: str, problems: list[str]) -> DrillRecord:
    """Identity from report.json when it parses (to say which drill this is); no claimed result at all."""
    claimed = _claimed(folder)
    shown = "; ".join(problems[:_SHOWN]) + (
        f"; and {len(problems) - _SHOWN} more (see drill verify)" if len(problems) > _SHOWN else ""
    )
    claim = f" report.json claims {claimed.verdict.value}, which counts for nothing." if claimed else ""
    reason = f"evidence not verified ({status}): {shown}.{claim}"
    try:
        when = claimed.started_at if claimed else datetime.fromtimestamp(folder.stat().st_mtime, UTC)
    except OSError:
        when = datetime.now(UTC)
    step = StepResult(
        step="verify",
        title="Evidence verification",
        status=Status.ERROR,
        reason=reason,
        started_at=when,
        ended_at=when,
        duration_s=0.0,
    )
    return DrillRecord(
        drill_id=claimed.drill_id if claimed else folder.name,
        verdict=Verdict.INCOMPLETE,
        reason=reason,
        tenant_id=claimed.tenant_id if claimed else None,
        tenant_domain=claimed.tenant_domain if claimed else None,
        account_name=claimed.account_name if claimed else "unknown",
        account_upn=claimed.account_upn if claimed else None,
        started_at=when,
        steps=[step],
    )
