"""Outlook mail on Graph: list a mailbox's messages and sendMail, over the simulator's MailStore.

Exchange's rules come along: `$orderby` must name properties the `$filter` names first (else 400
InefficientFilter), paging is by `$skip`, a signed-in user reaches someone else's mailbox only with a
`.Shared` scope, and a recipient outside the tenant is recorded as sent out of the simulated tenant,
never silently delivered.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from drill.sim.graph.http import (
    GraphError,
    GraphRequest,
    GraphResponse,
    Obj,
    Perms,
    RouteSpec,
    key_segment,
    ok,
    route,
)
from drill.sim.graph.odata import QuerySpec, collection, ops, parse_query, project, select_suffix
from drill.sim.mail.alert_mail import TEMPLATE

BELIEFS = [TEMPLATE]  # the alert mail's body (drill/sim/mail/alert_mail.py)

_DT = ops("eq", "ne", "gt", "ge", "lt", "le")
MESSAGES = QuerySpec(
    "message",
    "Message",
    filterable={
        "receivedDateTime": _DT,
        "sentDateTime": _DT,
        "createdDateTime": _DT,
        "subject": ops("eq"),
        "isRead": ops("eq"),
        "from/emailAddress/address": ops("eq"),
        "internetMessageId": ops("eq"),
        "importance": ops("eq"),
    },
    orderable=frozenset({"receivedDateTime", "sentDateTime", "createdDateTime", "subject"}),
    page_size=10,
    max_top=1000,
    paging="skip",
    flavour="outlook",
    always=("id",),
    default_order=("receivedDateTime", True),
)

READ_MAIL = Perms(
    delegated=("Mail.Read.Shared", "Mail.ReadWrite.Shared"),
    application=("Mail.ReadBasic.All", "Mail.Read", "Mail.ReadWrite"),
    self_delegated=("Mail.ReadBasic", "Mail.Read", "Mail.ReadWrite"),
    flavour="outlook",
)
SEND_MAIL = Perms(
    delegated=("Mail.Send.Shared",),
    application=("Mail.Send",),
    self_delegated=("Mail.Send",),
    flavour="outlook",
)


def _mailbox(req: GraphRequest) -> str:
    """The SMTP address behind /users/{id|upn}: a tenant user's mail (or UPN), or a bare tenant mailbox."""
    key = req.params["user"]
    t = req.state.tenant
    user = t.user(key) or next((u for u in t.users if str(u.get("mail") or "").lower() == key.lower()), None)
    if user is None:
        if t.mailbox(key) is not None:
            return key.lower()
        raise GraphError(404, "ErrorInvalidUser", f"The requested user '{key}' is invalid.")
    for address in (user.get("mail"), user.get("userPrincipalName")):
        if address and str(address).lower() in req.state.mail.boxes:
            return str(address).lower()
    raise GraphError(
        404,
        "MailboxNotEnabledForRESTAPI",
        "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
    )


def _full(message: Obj) -> Obj:
    change = base64.b64encode(hashlib.sha256(message["id"].encode()).digest()[:16]).decode()
    full: Obj = {
        "@odata.etag": f'W/"{change}"',
        "categories": [],
        "changeKey": change,
        "parentFolderId": "AAMkInbox",
        "conversationId": message["id"][:16],
        "hasAttachments": False,
        "isDeliveryReceiptRequested": False,
        "isReadReceiptRequested": False,
        "isDraft": False,
        "inferenceClassification": "focused",
        "ccRecipients": [],
        "bccRecipients": [],
        "replyTo": [],
        "internetMessageHeaders": [],
        "flag": {"flagStatus": "notFlagged"},
        "webLink": f"https://outlook.office365.com/owa/?ItemID={message['id']}&exvsurl=1&viewmodel=ReadMessageItem",
        **message,
    }
    return full


async def list_messages(req: GraphRequest) -> GraphResponse:
    box = _mailbox(req)
    items = [_full(m) for m in req.state.mail.messages(box) or []]
    frag = f"users{key_segment(req.params['user'])}/messages"
    body = collection(req, MESSAGES, items, frag)
    for item in body["value"]:  # Outlook returns the etag with every item, selected or not
        item.setdefault("@odata.etag", _full({"id": item["id"]})["@odata.etag"])
    return ok(body)


async def get_message(req: GraphRequest) -> GraphResponse:
    box = _mailbox(req)
    found = next((m for m in req.state.mail.messages(box) or [] if m["id"] == req.params["message"]), None)
    if found is None:
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    q = parse_query(req, MESSAGES, collection=False)
    ctx = f"{req.base}/$metadata#users{key_segment(req.params['user'])}/messages{select_suffix(q)}/$entity"
    return ok({"@odata.context": ctx, **project(MESSAGES, _full(found), q)})


def _addresses(items: Any, field: str) -> list[str]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise GraphError(400, "ErrorInvalidRecipients", f"'{field}' must be a collection of recipients.")
    out = []
    for r in items:
        address = ((r or {}).get("emailAddress") or {}).get("address") if isinstance(r, dict) else None
        if not address or "@" not in str(address):
            raise GraphError(400, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
        out.append(str(address))
    return out


async def send_mail(req: GraphRequest) -> GraphResponse:
    box = _mailbox(req)
    body = req.body if isinstance(req.body, dict) else None
    message = (body or {}).get("message") or (body or {}).get("Message")
    if not isinstance(message, dict):
        raise GraphError(400, "ErrorInvalidRequest", "The 'message' parameter is required for sendMail.")
    recipients = [
        *_addresses(message.get("toRecipients"), "toRecipients"),
        *_addresses(message.get("ccRecipients"), "ccRecipients"),
        *_addresses(message.get("bccRecipients"), "bccRecipients"),
    ]
    if not recipients:
        raise GraphError(400, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
    content = message.get("body") or {}
    kind = str(content.get("contentType") or "text").lower()
    owner = req.state.tenant.user(box) or next(
        (u for u in req.state.tenant.users if str(u.get("mail") or "").lower() == box), {}
    )
    box_meta = req.state.tenant.mailbox(box) or {}
    sender_name = str(owner.get("displayName") or box_meta.get("displayName") or box)
    now = req.now()
    for to in recipients:
        if to.lower() in req.state.mail.boxes:
            req.state.mail.deliver(
                to=to,
                subject=str(message.get("subject") or ""),
                body=str(content.get("content") or ""),
                sender=box,
                sender_name=sender_name,
                received=now,
                content_type=kind,
            )
        else:
            with req.state.mail.lock:
                req.state.mail.dropped.append(
                    {
                        "to": to,
                        "subject": str(message.get("subject") or ""),
                        "at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "reason": "sent outside the simulated tenant (not delivered anywhere)",
                        "from": box,
                    }
                )
    return GraphResponse(202)


def routes() -> list[RouteSpec]:
    u = r"/users/(?P<user>[^/()]+)"
    return [
        route("GET", u + "/messages", list_messages, READ_MAIL, user_param="user"),
        route("GET", u + "/messages/(?P<message>[^/]+)", get_message, READ_MAIL, user_param="user"),
        route("POST", u + "/sendMail", send_mail, SEND_MAIL, user_param="user"),
    ]
