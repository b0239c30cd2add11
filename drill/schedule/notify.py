"""Telling people a drill is due: the notice text and the ways it is delivered.

The log notifier always runs, so every notice is on record even when mail is down. Mail goes through
Microsoft Graph `sendMail` as the observer identity (application permission Mail.Send, scoped by an
application access policy to the alert mailbox), from the alert mailbox to the announce list: the observer
is the only identity the scheduler holds, and it never signs in as a break-glass account.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from drill.logs import get_logger
from drill.text import clean_text

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from drill.audit.practice import Practice
    from drill.schedule.due import AccountStatus, Reminder

SUBJECT_PREFIX = "[breakglass-drill]"
Severity = Literal["info", "warning", "critical"]


def inert(value: object) -> str:
    """One value from outside the product (a policy name, a log's app name, a ledger problem, a service's
    error text) as every notice quotes it: on one line, with ESC, CR, LF, NUL and the bidi / zero-width
    controls shown as visible escapes (``\\x1b``, ``\\u202e``). A quoted value can then neither drive the
    reader's terminal, reorder text, nor start a line of its own ("All checks PASSED" under a failure)."""
    return clean_text(value)


@dataclass(frozen=True)
class Notice:
    """One message to the people responsible for a break-glass account.

    Callers quote outside values through `inert`; the notice itself then shows any control character left
    in its subject (one line) or body (lines the product wrote) as a visible escape, so no notice, whoever
    builds it, carries ESC, a lone CR or a bidi override to a mail client or a log.
    """

    key: str  # the reminder key (or keyless-check key) it delivers: lets a reader spot duplicates
    severity: Severity
    subject: str
    body: str
    account: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "subject", clean_text(self.subject))
        object.__setattr__(self, "body", clean_text(self.body, multiline=True))
        if self.account is not None:
            object.__setattr__(self, "account", clean_text(self.account))


class Notifier(Protocol):
    """Delivers a notice or raises; the scheduler retries a failed delivery at the next check."""

    def send(self, notice: Notice) -> None: ...


class LogNotifier:
    """Writes each notice to the structured log (the always-on channel)."""

    def __init__(self) -> None:
        self.log = get_logger("drill.schedule.scheduler")

    def send(self, notice: Notice) -> None:
        method = self.log.warning if notice.severity != "info" else self.log.info
        method(
            "schedule.notice",
            notice_key=notice.key,
            severity=notice.severity,
            subject=notice.subject,
            account=notice.account,
            **notice.facts,
        )


class GraphMailNotifier:
    """Sends each notice by Graph `POST /users/{sender}/sendMail` with the observer's credential.

    Takes the credential and endpoints as parameters (not the playbook) so the caller decides how the
    observer authenticates. msgraph-sdk is imported only when a mail is sent.
    """

    def __init__(
        self,
        credential: TokenCredential,
        graph_endpoint: str,
        sender: str,
        recipients: Sequence[str],
        *,
        scopes: Sequence[str] = ("https://graph.microsoft.com/.default",),
        ca_bundle: str | None = None,
    ) -> None:
        if not recipients:
            raise ValueError("a mail notifier needs at least one recipient")
        self.credential = credential
        self.graph_endpoint = graph_endpoint.rstrip("/")
        self.sender = sender
        self.recipients = list(recipients)
        self.scopes = list(scopes)
        self.ca_bundle = ca_bundle

    def send(self, notice: Notice) -> None:
        asyncio.run(self._send(notice))

    async def _send(self, notice: Notice) -> None:
        from msgraph.generated.models.body_type import BodyType
        from msgraph.generated.models.email_address import EmailAddress
        from msgraph.generated.models.importance import Importance
        from msgraph.generated.models.item_body import ItemBody
        from msgraph.generated.models.message import Message
        from msgraph.generated.models.recipient import Recipient
        from msgraph.generated.users.item.send_mail.send_mail_post_request_body import (
            SendMailPostRequestBody,
        )

        from drill.clients import graph_client_at

        # One mail now and then: no kept-alive connection to leak into the next event loop.
        client = graph_client_at(
            self.credential, self.graph_endpoint, self.scopes, ca_bundle=self.ca_bundle, keep_alive=False
        )
        message = Message(
            subject=notice.subject,
            body=ItemBody(content_type=BodyType.Text, content=notice.body),
            to_recipients=[Recipient(email_address=EmailAddress(address=a)) for a in self.recipients],
            importance=Importance.High if notice.severity == "critical" else Importance.Normal,
        )
        await client.users.by_user_id(self.sender).send_mail.post(
            SendMailPostRequestBody(message=message, save_to_sent_items=True)
        )


def _fmt(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC") if when else "—"


def reminder_notice(reminder: Reminder, status: AccountStatus, now: datetime) -> Notice:
    """The words of a reminder or escalation: what is due, since when, and what to do."""
    last = status.last_drill or {}
    last_line = (
        f"Last drill: {inert(last.get('drill_id', '?'))} ({inert(last.get('verdict', '?'))}), "
        f"last PASS: {_fmt(status.last_pass_at)}."
        if last
        else "This account has never been drilled."
    )
    action = (
        f"Run `drill run PLAYBOOK --account {status.account}` with the account's key and an operator "
        "(the scheduler never signs in by itself)."
    )
    facts: dict[str, Any] = {
        "tenant_id": status.tenant_id,
        "due_at": reminder.due_at.isoformat() if reminder.due_at else None,
        "lead_days": reminder.lead_days,
        "overdue_days": reminder.overdue_days,
        "superseded": list(reminder.superseded),
    }
    if reminder.kind == "reminder":
        subject = f"{SUBJECT_PREFIX} Break-glass drill for {status.account} due in {reminder.lead_days} days"
        body = f"The break-glass drill for {status.account} is due on {_fmt(reminder.due_at)}."
        severity: Severity = "info" if (reminder.lead_days or 0) > 7 else "warning"
    elif reminder.due_at is None:
        subject = f"{SUBJECT_PREFIX} OVERDUE: {status.account} has no passing break-glass drill"
        body = f"No drill of {status.account} has passed, so nothing proves the account works."
        severity = "critical"
    else:
        days = reminder.overdue_days or 0
        late = "today" if days == 0 else f"{days} day{'s' if days != 1 else ''} ago"
        subject = f"{SUBJECT_PREFIX} OVERDUE: break-glass drill for {status.account} was due {late}"
        body = f"The break-glass drill for {status.account} was due on {_fmt(reminder.due_at)}."
        severity = "critical"
    text = f"{body}\n{last_line}\n{action}\n\nChecked at {_fmt(now)}. Notice {reminder.key}."
    return Notice(reminder.key, severity, subject, text, status.account, facts)


def practice_notice(reminder: Reminder, person: Practice, now: datetime) -> Notice:
    """The words of a practice reminder: who has not taken part in a drill lately, and how to."""
    name = inert(person.person)
    accounts = ", ".join(inert(a) for a in person.accounts)
    last = person.last
    last_line = (
        f"Last took part: {inert(last.drill_id)} ({inert(last.account)}) as {last.role}, {_fmt(last.at)}."
        if last
        else "They have never taken part in a drill that passed."
    )
    action = (
        f"Let them take part in the next drill as operator or witness: `drill run PLAYBOOK --account "
        f'{inert(person.accounts[0])} --operator "{name}"` (or `--witness "{name}"`), with the name '
        "written as in the playbook."
    )
    facts: dict[str, Any] = {
        "tenant_id": person.tenant_id,
        "person": person.person,
        "due_at": reminder.due_at.isoformat() if reminder.due_at else None,
        "practice_months": person.months,
        "superseded": list(reminder.superseded),
    }
    if reminder.kind == "reminder":
        subject = f"{SUBJECT_PREFIX} {name}'s break-glass practice runs out in {reminder.lead_days} days"
        severity: Severity = "info"
    elif reminder.due_at is None:
        subject = f"{SUBJECT_PREFIX} {name} has never practised a break-glass drill"
        severity = "warning"
    else:
        subject = f"{SUBJECT_PREFIX} {name}'s break-glass practice is older than {person.months} months"
        severity = "warning"
    body = (
        f"{name} may use the break-glass account(s) {accounts}, and should take part in a drill that passes "
        f"at least every {person.months} months (schedule.practice_months)."
    )
    text = f"{body}\n{last_line}\n{action}\n\nChecked at {_fmt(now)}. Notice {reminder.key}."
    return Notice(reminder.key, severity, subject, text, None, facts)
