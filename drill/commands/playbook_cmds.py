"""`drill playbook ...`: check a playbook, print its JSON Schema, start one from Maester's config.

Only typer is imported at module level: `drill --help` must not pay for pydantic or ruamel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Check, describe and import playbooks.", no_args_is_help=True)


@app.command()
def check(
    file: Annotated[Path, typer.Argument(help="Playbook YAML file.")],
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when there are warnings.")] = False,
) -> None:
    """Validate a playbook; print it normalised (defaults filled in) and any advice. Exit 2 on errors."""
    import io

    from ruamel.yaml import YAML

    from drill.permissions.needs import playbook_needs
    from drill.playbook import load_playbook, playbook_warnings
    from drill.playbook.contradictions import contradictions
    from drill.playbook.load import PlaybookError

    try:
        pb = load_playbook(file)
    except PlaybookError as exc:
        for problem in exc.problems:
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(exc.exit_code) from None
    found = contradictions(pb, playbook_needs)  # settings that cannot work together (issue 23)
    errors = [c for c in found if c.severity == "error"]
    if errors:  # the warnings come once the errors are fixed
        for item in errors:
            typer.echo(str(item), err=True)
        raise typer.Exit(2)
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]  # keep the model's order: it reads like the example
    buf = io.StringIO()
    yaml.dump(pb.model_dump(mode="json"), buf)
    typer.echo(f"# {file}: valid")
    typer.echo(buf.getvalue().rstrip())
    advice = playbook_warnings(pb)
    for warning in advice:  # first: the untrusted-endpoints warning must lead
        typer.echo(f"warning: {warning}", err=True)
    for item in found:
        typer.echo(str(item), err=True)
    warnings = [*advice, *found]
    if strict and warnings:
        raise typer.Exit(1)


@app.command()
def schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the playbook JSON Schema, for editor completion and CI validation."""
    import json

    from drill.playbook import playbook_json_schema

    text = json.dumps(playbook_json_schema(), indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)


@app.command("import-maester")
def import_maester_cmd(
    file: Annotated[
        Path,
        typer.Argument(
            help="maester-config.json, or the Zero Trust Assessment's zt-config.json "
            "(both: GlobalSettings.EmergencyAccessAccounts)."
        ),
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the skeleton here instead of stdout.")
    ] = None,
) -> None:
    """Start a playbook from the emergency access accounts Maester or the Zero Trust Assessment know."""
    from drill.errors import DrillUserError
    from drill.playbook import import_maester

    text = import_maester(file)
    if output is None:
        typer.echo(text, nl=False)
        return
    if output.exists():
        raise DrillUserError(f"{output}: already exists; choose another --output or remove it")
    output.write_text(text, encoding="utf-8")
    typer.echo(
        f"wrote {output}: fill in the <...> placeholders, then run `drill playbook check {output}`", err=True
    )
