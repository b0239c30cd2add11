"""Top-level drill commands: `drill run`, `drill preflight`, `drill demo`."""

from __future__ import annotations

from pathlib import Path

import typer

PACK_HELP = (
    "Write a fidelity pack here: the shapes of what the tenant answered (page ids, JSON as types, mail "
    "labels, log columns), nothing secret or identifying; `drill sim compare-pack` reads it."
)


def register(app: typer.Typer) -> None:
    """Attach the drill commands to the root app."""

    @app.command()
    def run(
        playbook: Path = typer.Argument(..., help="The tenant's playbook (YAML)."),
        account: str = typer.Option(..., "--account", help="Name of the break-glass account to drill."),
        operator: str | None = typer.Option(
            None,
            help="Operator's name for the record (asked if omitted), as the playbook's authorised_people "
            "writes it: BG.PROC.4 counts practice by name.",
        ),
        witness: str | None = typer.Option(
            None, help="Witness's name, if one is present (as authorised_people writes it)."
        ),
        output: Path | None = typer.Option(
            None, help="Evidence folder; default: the playbook's evidence.output_dir."
        ),
        fidelity_pack: Path | None = typer.Option(None, "--fidelity-pack", help=PACK_HELP),
    ) -> None:
        """Run a live drill: the operator is present, the key is inserted."""
        from drill.run.live import run_live

        raise typer.Exit(
            run_live(
                playbook,
                account,
                operator=operator,
                witness=witness,
                output=output,
                fidelity_pack=fidelity_pack,
            )
        )

    @app.command()
    def preflight(
        playbook: Path = typer.Argument(..., help="The tenant's playbook (YAML)."),
        account: str | None = typer.Option(None, "--account", help="Also check this account's key."),
        fidelity_pack: Path | None = typer.Option(None, "--fidelity-pack", help=PACK_HELP),
    ) -> None:
        """Check everything a drill needs, without signing in (the day before a drill)."""
        from drill.run.live import run_preflight

        raise typer.Exit(run_preflight(playbook, account, fidelity_pack=fidelity_pack))

    @app.command()
    def demo(
        fault: str | None = typer.Option(
            None, "--fault", help="Break one link first (see `drill sim faults`)."
        ),
        account: str = typer.Option("ea01", "--account", help="Demo account to drill (ea01 or ea02)."),
        output: Path = typer.Option(Path("reports"), help="Where the evidence bundle goes."),
        headed: bool = typer.Option(False, help="Show the browser window."),
        audit: bool = typer.Option(
            False, "--audit", help="Audit the demo tenant's whole design instead (see `drill audit`)."
        ),
        variant: list[str] = typer.Option(
            [],
            "--variant",
            help="BELIEF=FORM: another plausible shape of the tenant (drill sim variants).",
        ),
        fidelity_pack: Path | None = typer.Option(None, "--fidelity-pack", help=PACK_HELP),
        watch: str = typer.Option(
            "mail",
            "--watch",
            help="Which watches the demo playbook requires: mail (the alert mail), sentinel (a Sentinel "
            "analytics rule's incident), both, or defender (sentinel, also read in the Defender portal).",
        ),
    ) -> None:
        """Run the full drill against the embedded simulated tenant, with software keys."""
        from drill.run.demo import run_demo, run_demo_audit

        if audit:
            if headed or account != "ea01":
                from drill.errors import DrillUserError

                raise DrillUserError("--audit reads both demo accounts, no browser: drop --account/--headed")
            if fidelity_pack is not None:
                from drill.errors import DrillUserError

                raise DrillUserError("--fidelity-pack records a drill's shapes: drop it with --audit")
            if watch != "mail":
                from drill.errors import DrillUserError

                raise DrillUserError("--audit judges the demo tenant's design as it is: drop --watch")
            raise typer.Exit(run_demo_audit(fault=fault, output=output, variants=list(variant)))
        raise typer.Exit(
            run_demo(
                fault=fault,
                account=account,
                output=output,
                headed=headed,
                variants=list(variant),
                fidelity_pack=fidelity_pack,
                watch=watch,
            )
        )
