"""The daily keyless check: everything `drill preflight` proves that needs no key and no operator.

Between drills the tenant drifts: an observer secret expires, a mailbox permission is removed, someone
edits the alert rule's query, a break-glass account loses Global Administrator or is deleted. A drill every
180 days would find that late; this check finds it the next morning and leaves a keyless-check line in the
ledger, so the history shows when the drift began.

The probes are injected (`KeylessProbes`): the scheduler passes ones built on the observer identity, tests
pass their own. A probe that raises counts as failed (fail closed), with the exception named.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from drill.evidence.ledger import KIND_KEYLESS_CHECK

if TYPE_CHECKING:
    from drill.evidence.signing import Signer
    from drill.playbook import Account, Playbook


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)


class KeylessProbes(Protocol):
    """What the observer can find out without a key; each call is independent and may raise."""

    def observer_logs(self) -> ProbeResult:
        """The observer can query the Log Analytics workspace."""
        ...

    def observer_mailbox(self) -> ProbeResult:
        """The observer can list the alert mailbox."""
        ...

    def alert_query(self) -> ProbeResult:
        """The alert rule's query still parses (and runs) against the workspace."""
        ...

    def account(self, account: Account) -> ProbeResult:
        """The account still exists, is enabled, and holds Global Administrator."""
        ...


@dataclass(frozen=True)
class KeylessCheck:
    id: str
    title: str
    ok: bool
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class KeylessResult:
    tenant_id: str
    checked_at: datetime
    checks: list[KeylessCheck]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failed(self) -> list[KeylessCheck]:
        return [c for c in self.checks if not c.ok]

    def ledger_entry(self) -> dict[str, Any]:
        """The keyless-check ledger line (the ledger adds sequence, chain and signature)."""
        return {
            "kind": KIND_KEYLESS_CHECK,
            "tenant_id": self.tenant_id,
            "checked_at": self.checked_at.isoformat(),
            "status": "pass" if self.ok else "fail",
            "checks": [
                {"id": c.id, "title": c.title, "status": "pass" if c.ok else "fail", "reason": c.reason}
                for c in self.checks
            ],
        }


def _run(check_id: str, title: str, probe: Callable[[], ProbeResult]) -> KeylessCheck:
    try:
        result = probe()
    except Exception as exc:  # noqa: BLE001 - a probe that breaks is a failed check, never a crash
        return KeylessCheck(check_id, title, False, f"{type(exc).__name__}: {str(exc)[:300]}")
    return KeylessCheck(check_id, title, bool(result.ok), result.reason, dict(result.evidence))


def keyless_check(playbook: Playbook, probes: KeylessProbes, now: datetime) -> KeylessResult:
    """Run every keyless probe for one playbook; never signs in, never raises for a failed probe."""
    checks = [
        _run("observer_logs", "Observer can query the workspace", probes.observer_logs),
        _run("observer_mailbox", "Observer can list the alert mailbox", probes.observer_mailbox),
        _run("alert_query", "The alert rule's query parses", probes.alert_query),
    ]
    for account in playbook.accounts:
        checks.append(
            _run(
                f"account_{account.name}",
                f"{account.name} exists and holds Global Administrator",
                lambda a=account: probes.account(a),  # type: ignore[misc]
            )
        )
    return KeylessResult(str(playbook.tenant.id), now, checks)


def record_keyless(ledger_path: Path, result: KeylessResult, signer: Signer) -> dict[str, Any]:
    """Append the result as a keyless-check line through the evidence ledger's own append."""
    from drill.evidence import ledger

    return ledger.append(ledger_path, result.ledger_entry(), signer)
