"""`drill keys`: list the keys this machine sees, check an account's key, make a software key.

Only typer is imported at module level; fido2 and cryptography load when a command runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from drill.errors import DrillUserError

if TYPE_CHECKING:
    from drill.keys.base import KeyInfo
    from drill.keys.inventory import FoundKey
    from drill.keys.key_path import KeyPath

app = typer.Typer(
    help="List security keys, check an account's key, create software keys.",
    invoke_without_command=True,
)

SoftwareDir = Annotated[
    Path | None,
    typer.Option(
        "--software-dir",
        help="Folder of software keys (default: $DRILL_SOFTWARE_KEYS; none if unset).",
        file_okay=False,
    ),
]
NoHardware = Annotated[bool, typer.Option("--no-hardware", help="Do not look for USB keys.")]


def _line(info: KeyInfo) -> str:
    pin = "no PIN" if not info.pin_set else f"PIN set, {info.pin_retries} retries left"
    parts = [
        f"{info.kind:8}",
        info.model or "unknown model",
        f"AAGUID {info.aaguid}",
        f"firmware {info.firmware or '?'}",
        "/".join(info.versions) or "CTAP ?",
        pin,
    ]
    if info.serial:
        parts.append(f"serial {info.serial}")
    if info.label:
        parts.append(f"label {info.label!r}")
    return "  ".join(parts) + f"\n          {info.handle}"


def _folder(software_dir: Path | None) -> Path | None:
    from drill.keys.inventory import software_dir as resolve

    folder = resolve(software_dir)
    if folder is not None and not folder.is_dir():
        raise DrillUserError(
            f"{folder}: no such folder of software keys; fix --software-dir or $DRILL_SOFTWARE_KEYS"
        )
    return folder


def _path(folder: Path | None, no_hardware: bool) -> KeyPath:
    """Which path a drill would take here, said before anything else (the operator chooses elevation)."""
    from drill.keys import key_path

    path = key_path.choose_key_path(software=folder, include_hardware=not no_hardware)
    typer.echo(f"Key path: {path.name}: {path.reason}")
    return path


def _discover(folder: Path | None, no_hardware: bool, path: KeyPath) -> list[FoundKey]:
    from drill.keys.inventory import discover_keys

    # On the Windows WebAuthn path raw HID is closed to this process: only software keys can be listed.
    hardware = not no_hardware and not path.hides_key
    return list(discover_keys(folder, include_hardware=hardware))


@app.callback()
def keys(
    ctx: typer.Context,
    software_dir: SoftwareDir = None,
    no_hardware: NoHardware = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """List the connected hardware keys and the configured software keys (same as `drill keys list`)."""
    if ctx.invoked_subcommand is None:
        _list(software_dir, no_hardware, as_json)


@app.command("list")
def list_keys(
    software_dir: SoftwareDir = None,
    no_hardware: NoHardware = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """List the connected hardware keys and the configured software keys."""
    _list(software_dir, no_hardware, as_json)


def _list(software_dir: Path | None, no_hardware: bool, as_json: bool) -> None:
    from drill.keys import key_path

    folder = _folder(software_dir)
    if as_json:
        path = key_path.choose_key_path(software=folder, include_hardware=not no_hardware)
        found = _discover(folder, no_hardware, path)
        keys = [k.info.evidence() for k in found]
        typer.echo(json.dumps({"path": path.name, "reason": path.reason, "keys": keys}, indent=2))
        return
    path = _path(folder, no_hardware)
    found = _discover(folder, no_hardware, path)
    if path.hides_key:
        typer.echo(
            "USB keys are not listed on this path: Windows shows them only in its own dialog at sign-in."
        )
    if not found and not path.hides_key:
        typer.echo("No keys found. Insert a FIDO2 key (on Linux: check udev rules for hidraw access).")
        return
    for key in found:
        typer.echo(_line(key.info))


@app.command()
def check(
    playbook: Annotated[Path, typer.Argument(help="Playbook YAML file.")],
    account: Annotated[str, typer.Option("--account", help="Account name from the playbook.")],
    software_dir: SoftwareDir = None,
    no_hardware: NoHardware = False,
) -> None:
    """Is the account's key present and usable (AAGUID approved, PIN set, retries above the guard)?

    Nothing is signed and no PIN is asked for. Exit 0 when ready, 1 when not. On the Windows WebAuthn path
    (no administrator rights) the key's details are `not observable` until the ceremony: the drill proves
    them after it, and this command says which check will.
    """
    from drill.keys.inventory import check_account_key, check_windows_key
    from drill.keys.windows import WindowsAuthenticator
    from drill.playbook import load_playbook

    pb = load_playbook(playbook)
    chosen = next((a for a in pb.accounts if a.name == account), None)
    if chosen is None:
        names = ", ".join(a.name for a in pb.accounts)
        raise DrillUserError(f"{playbook}: no account named {account!r}; the playbook has: {names}")
    folder = _folder(software_dir)
    path = _path(folder, no_hardware)
    if path.hides_key:
        auth = WindowsAuthenticator({}, expected_aaguids=tuple(chosen.key.aaguids))
        result = check_windows_key(chosen, auth.describe(), auth.available())
    else:
        result = check_account_key(chosen, _discover(folder, no_hardware, path))
    for name, status, detail in result.checks:
        typer.echo(f"{status:14}  {name:12} {detail}")
    typer.echo(f"{account}: key {'ready' if result.ok else 'NOT ready'}")
    if not result.ok:
        raise typer.Exit(1)


@app.command("new-software")
def new_software(
    path: Annotated[Path, typer.Argument(help="State file to create (e.g. keys/bg-1.key.json).")],
    vendor: Annotated[
        str, typer.Option("--vendor", help="Simulated vendor: vendor-a or vendor-b.")
    ] = "vendor-a",
    vendor_dir: Annotated[
        Path, typer.Option("--vendor-dir", help="Where vendor roots live (the simulator trusts them).")
    ] = Path("vendors"),
    label: Annotated[str | None, typer.Option("--label", help="Label, as the playbook's key.label.")] = None,
    serial: Annotated[str | None, typer.Option("--serial", help="Serial number the key reports.")] = None,
    no_pin: Annotated[bool, typer.Option("--no-pin", help="Create the key without a PIN.")] = False,
    no_attestation: Annotated[
        bool, typer.Option("--no-attestation", help="Attestation format none.")
    ] = False,
) -> None:
    """Create a software key for rehearsals. The PIN is asked for hidden, and stored only as a hash."""
    import getpass

    from drill.keys.software import SoftwareKey
    from drill.keys.vendor import DEMO_VENDORS

    spec = next((v for v in DEMO_VENDORS if v.slug == vendor), None)
    if spec is None:
        raise DrillUserError(
            f"unknown vendor {vendor!r}; use one of: {', '.join(v.slug for v in DEMO_VENDORS)}"
        )
    pin = None
    if not no_pin:
        pin = getpass.getpass("New PIN for the software key: ")
        if pin != getpass.getpass("Repeat the PIN: "):
            raise DrillUserError("the two PINs differ; nothing was created")
    try:
        key = SoftwareKey.create_for_vendor(
            path, spec, vendor_dir, pin=pin, serial=serial, label=label, attestation=not no_attestation
        )
    except (FileExistsError, ValueError) as exc:
        raise DrillUserError(f"{path}: {exc}") from exc
    del pin
    typer.echo(_line(key.describe()))
