"""The observer's real path: azure-identity client credentials at the simulator's /token, then msgraph-sdk.

No token is issued by hand here: the app roles in `roles` come from the tenant's observer registration, so
this also pins identity's app tokens to what Graph's permission table accepts.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from graph_support import MAILBOX, OBSERVER_APP, close, graph_client

from drill.sim.server import SimServer


def test_observer_reads_mailbox_and_sign_ins_with_client_credentials(
    sim: SimServer, observer_secret: str
) -> None:
    import azure.identity as ai
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.audit_logs.sign_ins.sign_ins_request_builder import SignInsRequestBuilder
    from msgraph.generated.users.item.messages.messages_request_builder import MessagesRequestBuilder

    cred = ai.ClientSecretCredential(
        sim.state.tenant.id, OBSERVER_APP, observer_secret, authority=sim.base_url,
        connection_verify=str(sim.ca_path), disable_instance_discovery=True,
    )  # fmt: skip
    sim.state.mail.deliver(
        to=MAILBOX, subject="[CRITICAL] Emergency Access Activity", body="ea01@contoso.onmicrosoft.com",
        sender="azure-noreply@microsoft.com", sender_name="Microsoft Azure",
        received=sim.state.clock.now() - timedelta(seconds=5),
    )  # fmt: skip
    client = graph_client(sim, cred, ["https://graph.microsoft.com/.default"])
    mail_cfg = RequestConfiguration(
        query_parameters=MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
            top=1, select=["id", "subject"]
        )
    )
    signin_cfg = RequestConfiguration(
        query_parameters=SignInsRequestBuilder.SignInsRequestBuilderGetQueryParameters(
            filter="userId eq '0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a01'", top=5
        )
    )

    async def go() -> tuple[Any, Any]:
        try:
            mail = await client.users.by_user_id(MAILBOX).messages.get(request_configuration=mail_cfg)
            signins = await client.audit_logs.sign_ins.get(request_configuration=signin_cfg)
            return mail, signins
        finally:
            await close(client)
            cred.close()

    mail, signins = asyncio.run(go())
    assert [m.subject for m in mail.value] == ["[CRITICAL] Emergency Access Activity"]
    assert signins.value == []
