"""Mail.ReadBasic.All lists the mailbox but reads no body (issue 25, case 7), under each form of the belief
`mail-readbasic-body`, through msgraph-sdk as preflight sends the request; the product's verdict
(drill/steps/mail_access.py) FAILs naming Mail.Read under every form, and PASSes with Mail.Read."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from graph_support import MAILBOX, StaticCredential, close, graph_client

from drill.sim.beliefs import all_beliefs, apply_variant
from drill.sim.mail.routes import READ_BASIC
from drill.sim.server import SimServer
from drill.steps.mail_access import SAMPLE, body_access, token_roles

DEFAULT = ["https://graph.microsoft.com/.default"]
BASIC_ONLY = ["Mail.ReadBasic.All", "Mail.Send", "AuditLog.Read.All"]


def _bodies(sim: SimServer, token: str) -> list[Any]:
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.users.item.messages.messages_request_builder import MessagesRequestBuilder

    async def go() -> list[Any]:
        client = graph_client(sim, StaticCredential(token), DEFAULT)
        cfg = RequestConfiguration(
            query_parameters=MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
                top=SAMPLE, select=["id", "body"]
            )
        )
        try:
            resp = await client.users.by_user_id(MAILBOX).messages.get(request_configuration=cfg)
        finally:
            await close(client)
        return [m.body for m in resp.value or []]

    return asyncio.run(go())


def _deliver(sim: SimServer) -> None:
    when = sim.state.clock.now() - timedelta(days=3)
    sim.state.mail.deliver(to=MAILBOX, subject="Fired:Sev0 Azure Monitor Alert Break-glass account sign-in",
                           body="<p>alert</p>", sender="azure-noreply@microsoft.com", sender_name="Azure",
                           received=when, content_type="html")  # fmt: skip


@pytest.mark.parametrize("shape", list(all_beliefs()[READ_BASIC].forms))
def test_basic_only_observer_fails_naming_mail_read_under_every_form(
    sim: SimServer, app_token: Any, shape: str
) -> None:
    apply_variant(sim.state, READ_BASIC, shape)
    _deliver(sim)
    token = app_token(BASIC_ONLY)
    bodies = _bodies(sim, token)
    assert len(bodies) == 1
    ok, why = body_access(bodies, token_roles(token))
    assert not ok
    assert "application permission Mail.Read" in why
    # With Mail.Read the same mail has its body: PASS.
    full = app_token(["Mail.Read"])
    assert body_access(_bodies(sim, full), token_roles(full)) == (
        True,
        "message bodies readable (1 newest looked at)",
    )


def test_an_empty_mailbox_falls_back_to_the_tokens_roles(sim: SimServer, app_token: Any) -> None:
    basic, full = app_token(BASIC_ONLY), app_token(["Mail.Read"])
    assert _bodies(sim, basic) == []
    ok, why = body_access([], token_roles(basic))
    assert not ok
    assert "holds Mail.ReadBasic.All and no Mail.Read" in why
    assert body_access([], token_roles(full))[0]
    # A token naming no mail role (Exchange RBAC for Applications) proves nothing either way: not refused.
    assert body_access([], set())[0]
