"""Step (optional): tell the SOC a drill is starting, so the alert it is about to get is not an attack.

Sent through Graph by the observer from the alert mailbox; the drill id in the subject lets the SOC tie the
alert to this drill.
"""

from __future__ import annotations

from drill.evidence.model import StepResult
from drill.steps.base import StepBuilder
from drill.steps.context import DrillContext

NAME, TITLE = "announce", "Announce the drill to the SOC"


async def run(ctx: DrillContext) -> StepResult:
    sb = StepBuilder(NAME, TITLE, required=False)
    ann = ctx.playbook.announce
    if ann is None:
        return sb.skipped("no announce address in the playbook")
    from msgraph.generated.models.body_type import BodyType
    from msgraph.generated.models.email_address import EmailAddress
    from msgraph.generated.models.item_body import ItemBody
    from msgraph.generated.models.message import Message
    from msgraph.generated.models.recipient import Recipient
    from msgraph.generated.users.item.send_mail.send_mail_post_request_body import SendMailPostRequestBody

    from drill.clients import graph_client, graph_scopes

    subject = f"[breakglass-drill] Drill {ctx.drill_id} starting for {ctx.account.name}"
    body = (
        f"A scheduled break-glass drill ({ctx.drill_id}) is about to sign in as {ctx.account.upn}. "
        "Expect an emergency-access alert in the next minutes; it is part of this drill."
    )
    ctx.progress.info(subject)
    if ctx.observer is None:
        return sb.fail("no observer credential")
    client = graph_client(ctx.observer, ctx.cloud, graph_scopes(ctx.cloud, (".default",)))
    message = Message(
        subject=subject,
        body=ItemBody(content_type=BodyType.Text, content=body),
        to_recipients=[Recipient(email_address=EmailAddress(address=str(a))) for a in ann.to],
    )
    ctx.counters["graph_requests"] += 1
    assert (
        ctx.playbook.alert is not None
    )  # the playbook refuses `announce:` without the mailbox it sends from
    await client.users.by_user_id(str(ctx.playbook.alert.mailbox)).send_mail.post(
        SendMailPostRequestBody(message=message, save_to_sent_items=False)
    )
    sb.check(
        "announced",
        "SOC told about the drill",
        True,
        f"mailed {', '.join(str(a) for a in ann.to)}",
        {"subject": subject},
    )
    return sb.finish("SOC announced")
