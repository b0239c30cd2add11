"""`drill setup plan` and `drill setup apply`: from an empty tenant to a first drill, through a plan."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from drill.setup.run import SignIn

app = typer.Typer(
    help="Register and grant the drill's two identities, through a plan an administrator reads first.",
    no_args_is_help=True,
)

SIGN_IN = typer.Option("device-code", "--sign-in", help="device-code (any terminal) or browser.")
CLIENT = typer.Option(
    None,
    "--client-id",
    help="Public client to sign in through (default: Microsoft Graph Command Line Tools).",
)


def _login(method: str, client_id: str | None) -> SignIn:
    from drill.setup.admin import GRAPH_CLI_APP_ID
    from drill.setup.run import SignIn

    return SignIn(client_id=client_id or GRAPH_CLI_APP_ID, method=method)


def _accounts(upns: list[str], config: Path | None) -> tuple[str, ...]:
    from drill.errors import DrillUserError

    if config is not None:
        from drill.setup.inputs_file import accounts_from_config

        upns = [*upns, *accounts_from_config(config)]
    if not upns:
        raise DrillUserError(
            "name the break-glass accounts: --account UPN (each), or --from-config "
            "maester-config.json; setup never guesses them"
        )
    return tuple(dict.fromkeys(u.lower() for u in upns))


@app.command("plan")
def plan_cmd(
    tenant: str = typer.Option(..., "--tenant", help="Directory (tenant) id."),
    account: list[str] = typer.Option([], "--account", help="A break-glass account's UPN (repeat)."),
    from_config: Path | None = typer.Option(
        None,
        "--from-config",
        help="Maester or Zero Trust Assessment config naming the emergency access accounts.",
    ),
    playbook: Path = typer.Option(
        Path("playbook.yaml"), "--playbook", help="The playbook to write (a diff is shown)."
    ),
    out: Path = typer.Option(Path("setup-plan.json"), "--out", help="The plan (JSON; .txt beside it)."),
    workspace: str | None = typer.Option(
        None, "--workspace", help="Workspace ARM id (default: Entra's diagnostic setting's)."
    ),
    mailbox: str | None = typer.Option(
        None, "--mailbox", help="Alert mailbox (default: the rules' action group)."
    ),
    site: str | None = typer.Option(None, "--site", help="SharePoint site URL to file evidence in."),
    folder: str = typer.Option("Break-glass drills", "--folder", help="Filing folder in the site's library."),
    canary_group: str | None = typer.Option(
        None, "--canary-group", help="Empty group the admin task writes to."
    ),
    redirect_uri: str = typer.Option(
        "https://login.microsoftonline.com/common/oauth2/nativeclient",
        "--redirect-uri",
        help="The drill app's redirect URI.",
    ),
    federated: str | None = typer.Option(
        None,
        "--federated",
        help="ISSUER SUBJECT: a workload identity federation credential for CI instead of a certificate.",
    ),
    monitoring: bool = typer.Option(False, "--monitoring", help="Also deploy the seed's monitoring design."),
    defender: bool = typer.Option(
        False,
        "--defender",
        help="The Sentinel workspace is onboarded to the Defender portal (sentinel.defender_onboarded): "
        "grant the observer SecurityIncident.Read.All for the incident step's Graph read.",
    ),
    rule_prefix: str = typer.Option(
        "Break-glass drill ",
        "--rule-prefix",
        help="--monitoring: the rules' names start with this (setup never alters an existing rule).",
    ),
    cloud_from: Path | None = typer.Option(None, "--cloud-from", help="Take the cloud from this playbook."),
    cloud: str = typer.Option("public", "--cloud", help="public | usgov | china (without a playbook)."),
    sign_in: str = SIGN_IN,
    client_id: str | None = CLIENT,
) -> None:
    """Sign in as an administrator, find the accounts' objects and monitoring, write a playbook and a plan."""
    from drill.errors import DrillUserError
    from drill.setup.discover import Inputs
    from drill.setup.run import run_plan

    fed = None
    if federated:
        parts = federated.split()
        if len(parts) != 2:
            raise DrillUserError(
                '--federated "ISSUER SUBJECT", e.g. "https://token.actions.githubusercontent.com '
                'repo:org/repo:ref:refs/heads/main"'
            )
        fed = (parts[0], parts[1])
    inputs = Inputs(
        tenant_id=tenant,
        accounts=_accounts(account, from_config),
        workspace=workspace,
        mailbox=mailbox,
        site_url=site,
        folder=folder,
        canary_group=canary_group,
        monitoring=monitoring,
        defender=defender,
        rule_prefix=rule_prefix,
        redirect_uri=redirect_uri,
        federated=fed,
    )
    raise typer.Exit(
        run_plan(
            inputs,
            playbook=playbook,
            plan_path=out,
            cloud_from=cloud_from,
            cloud_name=cloud,
            login=_login(sign_in, client_id),
        )
    )


@app.command("apply")
def apply_cmd(
    plan: Path = typer.Argument(..., help="The plan `drill setup plan` wrote (JSON)."),
    playbook: Path = typer.Option(Path("playbook.yaml"), "--playbook", help="The playbook the plan wrote."),
    sign_in: str = SIGN_IN,
    client_id: str | None = CLIENT,
) -> None:
    """Make exactly the planned changes (nothing twice), record them in the ledger, run the preflight."""
    from drill.setup.run import run_apply

    raise typer.Exit(run_apply(plan, playbook=playbook, login=_login(sign_in, client_id)))
