"""The alert mailbox through Graph as the drill's observer reads it: app token, msgraph-sdk, Outlook rules."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from graph_support import EA01, MAILBOX, StaticCredential, bearer, close, graph_client

from drill.sim.server import SimServer

DEFAULT = ["https://graph.microsoft.com/.default"]


def _fill(sim: SimServer, n: int) -> list[str]:
    """n messages, one simulated minute apart, oldest first; returns their subjects."""
    start = sim.state.clock.now() - timedelta(minutes=n)
    subjects = []
    for i in range(n):
        subject = f"[CRITICAL] Emergency Access Activity #{i:02d}"
        sim.state.mail.deliver(to=MAILBOX, subject=subject,
                               body=f"rule fired for ea01@contoso.onmicrosoft.com ({i})",
                               sender="azure-noreply@microsoft.com", sender_name="Microsoft Azure",
                               received=start + timedelta(minutes=i))  # fmt: skip
        subjects.append(subject)
    return subjects


def test_alert_query_as_the_drill_sends_it(sim: SimServer, app_token: Any) -> None:
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.users.item.messages.messages_request_builder import MessagesRequestBuilder

    subjects = _fill(sim, 6)
    since = (sim.state.clock.now() - timedelta(minutes=3, seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cfg = RequestConfiguration(
        query_parameters=MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
            filter=f"receivedDateTime ge {since}", orderby=["receivedDateTime desc"], top=50,
            select=["id", "subject", "receivedDateTime", "from", "sender", "bodyPreview",
                    "internetMessageId"],
        )
    )  # fmt: skip
    client = graph_client(sim, StaticCredential(app_token()), DEFAULT)

    async def go() -> Any:
        try:
            return await client.users.by_user_id(MAILBOX).messages.get(request_configuration=cfg)
        finally:
            await close(client)

    resp = asyncio.run(go())
    assert [m.subject for m in resp.value] == subjects[:2:-1]  # the last three, newest first
    first = resp.value[0]
    assert first.from_.email_address.address == "azure-noreply@microsoft.com"
    assert first.sender.email_address.address == "azure-noreply@microsoft.com"
    assert "ea01@contoso.onmicrosoft.com" in first.body_preview
    assert first.internet_message_id
    assert first.body is None  # not selected


def test_paging_follows_next_link(sim: SimServer, app_token: Any, api: Any) -> None:
    subjects = _fill(sim, 12)
    h = bearer(app_token())
    page = api.get(f"/users/{MAILBOX}/messages", params={"$select": "subject"}, headers=h).json()
    assert page["@odata.context"].endswith("/$metadata#users('soc-alerts%40contoso.test')/messages(subject)")
    seen = [m["subject"] for m in page["value"]]
    assert len(seen) == 10  # Outlook's default page
    assert set(page["value"][0]) == {"@odata.etag", "id", "subject"}
    assert "$skip=10" in page["@odata.nextLink"]
    nxt = api.get(page["@odata.nextLink"], headers=h).json()
    seen += [m["subject"] for m in nxt["value"]]
    assert "@odata.nextLink" not in nxt
    assert seen == subjects[::-1]


def test_outlook_query_rules(sim: SimServer, app_token: Any, api: Any) -> None:
    h = bearer(app_token())
    url = f"/users/{MAILBOX}/messages"
    bad_sort = api.get(
        url, params={"$filter": "isRead eq false", "$orderby": "receivedDateTime desc"}, headers=h
    )
    assert bad_sort.status_code == 400
    assert bad_sort.json()["error"]["code"] == "InefficientFilter"
    assert api.get(url, params={"$select": "nosuch"}, headers=h).status_code == 400
    assert api.get(url, params={"$search": '"alert"'}, headers=h).status_code == 400
    assert api.get(url, params={"$top": "1001"}, headers=h).status_code == 400
    unknown = api.get("/users/nobody@contoso.test/messages", headers=h)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "ErrorInvalidUser"
    no_box = api.get(f"/users/{EA01}/messages", headers=h)
    assert no_box.status_code == 404
    assert no_box.json()["error"]["code"] == "MailboxNotEnabledForRESTAPI"


def test_mail_permissions(sim: SimServer, app_token: Any, delegated: Any, api: Any) -> None:
    url = f"/users/{MAILBOX}/messages"
    denied = api.get(url, headers=bearer(app_token(roles=["Directory.Read.All"])))
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "ErrorAccessDenied"
    # a signed-in user reaches another mailbox only with a .Shared scope
    assert api.get(url, headers=bearer(delegated(scopes="Mail.Read"))).status_code == 403
    assert api.get(url, headers=bearer(delegated(scopes="Mail.Read.Shared"))).status_code == 200


def test_send_mail_inside_and_outside_the_tenant(sim: SimServer, app_token: Any) -> None:
    from msgraph.generated.models.body_type import BodyType
    from msgraph.generated.models.email_address import EmailAddress
    from msgraph.generated.models.item_body import ItemBody
    from msgraph.generated.models.message import Message
    from msgraph.generated.models.recipient import Recipient
    from msgraph.generated.users.item.send_mail.send_mail_post_request_body import SendMailPostRequestBody

    sim.state.mail.create_box("alice.admin@contoso.test")
    message = Message(
        subject="[breakglass-drill] Drill d-1 starting",
        body=ItemBody(content_type=BodyType.Text, content="A scheduled drill is about to sign in."),
        to_recipients=[Recipient(email_address=EmailAddress(address=a))
                       for a in ("alice.admin@contoso.test", "soc@partner.example")],
    )  # fmt: skip
    client = graph_client(sim, StaticCredential(app_token()), DEFAULT)

    async def go() -> Any:
        try:
            return await client.users.by_user_id(MAILBOX).send_mail.post(
                SendMailPostRequestBody(message=message, save_to_sent_items=False)
            )
        finally:
            await close(client)

    assert asyncio.run(go()) is None  # 202, no body
    [got] = sim.state.mail.messages("alice.admin@contoso.test") or []
    assert got["subject"] == "[breakglass-drill] Drill d-1 starting"
    assert got["from"]["emailAddress"]["address"] == MAILBOX
    [out] = sim.state.mail.dropped
    assert out["to"] == "soc@partner.example"
    assert "outside the simulated tenant" in out["reason"]


def test_send_mail_refusals(sim: SimServer, app_token: Any, api: Any) -> None:
    url = f"/users/{MAILBOX}/sendMail"
    msg = {"message": {"subject": "x", "toRecipients": [{"emailAddress": {"address": MAILBOX}}]}}
    denied = api.post(url, json=msg, headers=bearer(app_token(roles=["Mail.Read"])))
    assert denied.status_code == 403
    empty = api.post(url, json={"message": {"subject": "x", "toRecipients": []}}, headers=bearer(app_token()))
    assert empty.status_code == 400
    assert empty.json()["error"]["code"] == "ErrorInvalidRecipients"
    sent = api.post(url, json=msg, headers=bearer(app_token()))
    assert sent.status_code == 202
    assert sent.content == b""
