"""`drill sim ...`: run the simulated tenant for rehearsals, list its fault scenarios, try KQL on its data."""

from __future__ import annotations

from pathlib import Path

import typer

from drill.assets import DEMO_TENANT as DEFAULT_TENANT
from drill.errors import DrillUserError

app = typer.Typer(
    help="The embedded simulated tenant (rehearsals, alert-rule authoring).", no_args_is_help=True
)


def _tenant(path: Path | None) -> Path:
    chosen = path or DEFAULT_TENANT
    if not chosen.is_file():
        raise DrillUserError(f"{chosen}: no such tenant fixture; pass --tenant <fixture>.yaml")
    return chosen


@app.command()
def serve(
    tenant: Path | None = typer.Option(
        None, "--tenant", help="Tenant fixture (YAML); default: the demo tenant."
    ),
    port: int = typer.Option(8443, help="Loopback port to listen on (0 = any free port)."),
    state_dir: Path = typer.Option(Path(".drill-state/sim"), help="Where the CA certificate and state go."),
    fault: list[str] = typer.Option([], "--fault", help="Fault scenario(s) to apply at start."),
    variant: list[str] = typer.Option(
        [], "--variant", help="BELIEF=FORM: serve another plausible shape (see `drill sim variants`)."
    ),
) -> None:
    """Serve the simulated tenant over HTTPS on 127.0.0.1 until Ctrl-C."""
    from drill.run.demo import sim_serve

    sim_serve(_tenant(tenant), state_dir, port, list(fault), list(variant))


@app.command()
def variants() -> None:
    """List every unverified shape the simulator can serve in several forms (default form first)."""
    from drill.run.demo import sim_variants

    for belief_id, summary, forms in sim_variants():
        typer.echo(f"{belief_id:32} {summary}")
        typer.echo(f"{'':32} forms: {', '.join(forms)}")


@app.command("compare-pack")
def compare_pack(
    pack: Path = typer.Argument(..., help="A fidelity pack folder (written by --fidelity-pack)."),
    against: Path | None = typer.Option(
        None, "--against", help="The simulator's pack to compare with; default: run a demo drill now."
    ),
) -> None:
    """List every difference between a pack's shapes and the simulator's, and which belief each confirms
    or refutes."""
    from drill.run.demo import compare_pack_report

    if not pack.exists():
        raise DrillUserError(f"{pack}: no such fidelity pack; pass the folder `--fidelity-pack` wrote")
    for line in compare_pack_report(pack, against):
        typer.echo(line)


@app.command()
def faults() -> None:
    """List the named fault scenarios, one line each."""
    from drill.run.demo import sim_faults

    for name, link, summary in sim_faults():
        typer.echo(f"{name:32} [{link}] {summary}")


@app.command()
def query(
    query_file: Path = typer.Argument(..., help="KQL file to run."),
    tenant: Path | None = typer.Option(None, "--tenant", help="Tenant fixture whose seedLogs to query."),
) -> None:
    """Run a KQL query over the simulator's tables (a fixture's seed rows), as an alert-rule author would."""
    from drill.run.demo import sim_query

    if not query_file.is_file():
        raise DrillUserError(f"{query_file}: no such file; pass the .kql file of your alert rule")
    try:
        columns, rows = sim_query(_tenant(tenant), query_file.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DrillUserError(f"{query_file}: {exc}") from exc
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    Console().print(table)
    typer.echo(f"{len(rows)} row(s)")
