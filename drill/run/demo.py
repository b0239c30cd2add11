"""The demo and rehearsal wiring: the embedded simulator, two software keys, the demo playbook.

This is the only product module that imports `drill.sim`. Everything after `demo_world` is the same code a
live drill runs: the playbook loader, the cloud from the playbook, the key adapter, the orchestrator and
the evidence writer. The software keys are registered through a real WebAuthn ceremony (python-fido2
client, the simulator's Fido2Server), never injected.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from drill.assets import DEMO_PLAYBOOK, DEMO_QUERIES, DEMO_TENANT
from drill.browser.sweep import DEMO_PREFIX, LOG_PREFIX
from drill.errors import DrillUserError
from drill.run.demo_cards import card_in_storage, print_demo_cards

__all__ = ["DEMO_PLAYBOOK", "DEMO_TENANT"]  # the demo's files, package data (drill/assets)
SENTINEL_QUERY = DEMO_QUERIES / "demo-breakglass-sentinel.kql"
# which watches the demo playbook declares (issue 24); defender: the Sentinel watch with the workspace
# onboarded to the Defender portal (sentinel.defender_onboarded: the incident is also read through Graph)
WATCHES = ("mail", "sentinel", "both", "defender")
OBSERVER_SECRET_ENV = "DRILL_DEMO_OBSERVER_SECRET"  # noqa: S105 - the name of a variable, not a secret
FIDO_ORIGIN = "https://login.microsoft.test"


@dataclass
class DemoWorld:
    sim: Any  # drill.sim.server.SimServer
    playbook: Any  # drill.playbook.Playbook
    cloud: Any  # drill.clouds.Cloud
    key_paths: dict[str, Path]
    pin: str
    state_dir: Path

    def open_key(self, account: str) -> Any:
        """The account's software key behind the same adapter a hardware key uses."""
        from drill.keys.prompts import ScriptedPrompts
        from drill.keys.software import open_software_authenticator

        acct = self.playbook.account(account)
        return open_software_authenticator(
            self.key_paths[account],
            ScriptedPrompts.always(self.pin),
            self.cloud.webauthn_related_origins,
            acct.pin_retry_guard,
        )


def _register(world: DemoWorld, account: str) -> None:
    import httpx

    acct = world.playbook.account(account)
    key = world.open_key(account)
    with httpx.Client(base_url=world.sim.base_url, verify=str(world.sim.ca_path), trust_env=False) as http:
        begin = http.post("/_sim/passkeys/register/begin", json={"userId": str(acct.object_id)})
        begin.raise_for_status()
        body = begin.json()
        response = key.make_credential(body["options"]["publicKey"], FIDO_ORIGIN, threading.Event())
        done = http.post(
            "/_sim/passkeys/register/complete",
            json={
                "registrationId": body["registrationId"],
                "response": response,
                "displayName": acct.key.label,
            },
        )
        if done.status_code >= 400:
            raise RuntimeError(f"registering the demo key of {account} failed: {done.text[:300]}")


@contextmanager
def demo_world(
    state_dir: Path | None = None,
    *,
    fault: str | None = None,
    variants: Sequence[str] = (),
    tenant_transform: Callable[[Any], Any] | None = None,
    watch: str = "mail",
) -> Iterator[DemoWorld]:
    """A running simulated tenant with both demo accounts' keys registered (and a fault, if asked).

    `variants` are `BELIEF=FORM` choices (drill.sim.beliefs): a healthy tenant answering in another
    plausible shape; the drill must PASS under each.

    `tenant_transform` reshapes the demo tenant before the server starts (the audit bench grows it to
    100,000 users with drill.sim.large_tenant.grow).

    `watch` is which watches the playbook requires: `mail` (the alert mail, today's demo), `sentinel` (the
    Sentinel analytics rule's incident, no mail watch) or `both`; for the last two the workspace is
    onboarded to Sentinel with the seed-style rule (drill/sim/loganalytics/sentinel_faults.py).
    """
    from drill.clouds import cloud_for
    from drill.keys.software import provision_software_keys
    from drill.keys.vendor import vendor_root_pems
    from drill.playbook import load_playbook
    from drill.secrets import register_secret
    from drill.sim.beliefs import apply_variant, parse_variant
    from drill.sim.faults import all_faults, apply_fault
    from drill.sim.identity.routes import configure_client_secret
    from drill.sim.server import SimServer
    from drill.sim.tenant import load_tenant

    if watch not in WATCHES:
        raise DrillUserError(f"unknown watch {watch!r}; choose one of {', '.join(WATCHES)}")
    if fault is not None and fault not in all_faults():
        raise DrillUserError(f"unknown fault {fault!r}; `drill sim faults` lists them")
    if fault is not None and fault.startswith("sentinel-") and watch == "mail":
        raise DrillUserError(
            f"{fault} breaks the Sentinel watch, which a mail-only demo does not use: add --watch sentinel "
            "(or --watch both)"
        )
    if fault is not None and fault.startswith("defender-") and watch != "defender":
        raise DrillUserError(
            f"{fault} breaks the Defender portal's read of the Sentinel incident, which only --watch "
            "defender uses (the workspace onboarded to the Defender portal)"
        )
    try:
        chosen = [parse_variant(v) for v in variants]
    except KeyError as exc:
        raise DrillUserError(f"{exc.args[0]}; `drill sim variants` lists them") from None
    with tempfile.TemporaryDirectory(prefix=DEMO_PREFIX) as tmp:
        from drill.browser.owner import mark_owner

        mark_owner(Path(tmp))  # killed mid-drill, its keys are swept at the next start (issue 29, item 7)
        base = state_dir or Path(tmp)
        pin = f"{secrets.randbelow(10**6):06d}"
        register_secret(pin)
        skeleton = load_playbook(DEMO_PLAYBOOK, env={})
        key_paths = provision_software_keys(skeleton.accounts, base / "keys", base / "vendors", pin)
        tenant = load_tenant(DEMO_TENANT)
        tenant.attestationRoots = [pem.decode() for pem in vendor_root_pems(base / "vendors").values()]
        if tenant_transform is not None:
            tenant = tenant_transform(tenant)
        if watch != "mail":
            from drill.sim.loganalytics.sentinel_faults import onboard

            onboard(tenant.azure)
        with SimServer(tenant, base / "sim") as sim:
            for belief_id, form_name in chosen:
                apply_variant(sim.state, belief_id, form_name)
            secret = secrets.token_urlsafe(32)
            register_secret(secret)
            if sim.state.tenant.application(str(skeleton.observer.client_id)) is not None:  # type: ignore[union-attr]
                # (a fresh tenant, drill/sim/fresh.py, has no observer until `drill setup` makes one)
                configure_client_secret(sim.state, str(skeleton.observer.client_id), secret)  # type: ignore[union-attr]
            os.environ[OBSERVER_SECRET_ENV] = secret  # this process only; never written anywhere
            playbook = load_playbook(
                DEMO_PLAYBOOK, env={"DRILL_SIM_PORT": str(sim.port), "DRILL_SIM_CA": str(sim.ca_path)}
            )
            playbook = with_watch(_playbook_for_tenant(playbook, sim.state), sim.state, watch)
            world = DemoWorld(sim, playbook, cloud_for(playbook), key_paths, pin, base)
            for account in key_paths:
                _register(world, account)
            print_demo_cards(playbook, list(key_paths), base)
            if fault is not None:
                apply_fault(sim.state, fault)
            try:
                yield world
            finally:
                os.environ.pop(OBSERVER_SECRET_ENV, None)


def _playbook_for_tenant(playbook: Any, state: Any) -> Any:
    """The demo playbook describing the simulated tenant as a variant laid it out: where the rules and the
    workspace live (monitoring-resource-groups) and the subject its rules send (alert-mail-template), as an
    operator of such a tenant would have written them. Unchanged for the default tenant."""
    from drill.sim.arm import ids

    updates: dict[str, Any] = {}
    mon = playbook.monitoring
    if mon is not None and mon.resource_group.lower() != ids.resource_group(state).lower():
        group, workspace = ids.resource_group(state), ids.workspace_id(state)
        where = {"resource_group": group, "workspace_resource_id": workspace}
        updates["monitoring"] = mon.model_copy(update=where)
    if playbook.alert is not None and not any(
        rule.get("customEmailSubject") for rule in state.tenant.alertRules
    ):
        updates["alert"] = playbook.alert.model_copy(update={"subject_match": "Azure Monitor Alert"})
    return playbook.model_copy(update=updates) if updates else playbook


def with_watch(playbook: Any, state: Any, watch: str) -> Any:
    """The demo playbook declaring the chosen watches, as an operator of the Sentinel-watched tenant would."""
    if watch == "mail":
        return playbook
    from drill.playbook.sentinel import SentinelWatch
    from drill.sim.arm import ids
    from drill.sim.loganalytics.sentinel_faults import RULE_ID, RULE_NAME

    sentinel = SentinelWatch(workspace_resource_id=ids.workspace_id(state),
                             rule=RULE_ID if watch == "both" else RULE_NAME,
                             defender_onboarded=watch == "defender")  # fmt: skip
    updates: dict[str, Any] = {"sentinel": sentinel, "sla": playbook.sla.model_copy(update={"incident": 900})}
    if watch in ("sentinel", "defender"):
        # No mail watch: no alert mailbox, no log search alert rules to read; the log rows step proves the
        # playbook's copy of the Sentinel query instead of the mail rule's.
        updates.update(alert=None, monitoring=None)
        updates["log_analytics"] = playbook.log_analytics.model_copy(
            update={"alert_query_file": SENTINEL_QUERY}
        )
    return playbook.model_copy(update=updates)


def build_context(world: DemoWorld, account: str, *, headed: bool = False, quiet: bool = False) -> Any:
    from drill.progress import Progress
    from drill.steps.context import DrillContext

    acct = world.playbook.account(account)
    return DrillContext(
        playbook=world.playbook,
        account=acct,
        cloud=world.cloud,
        open_key=lambda: world.open_key(account),
        progress=Progress(quiet=quiet),
        browser_args=list(world.sim.chromium_args),
        headed=headed,
    )


def run_demo(
    *,
    fault: str | None,
    account: str,
    output: Path,
    headed: bool = False,
    variants: Sequence[str] = (),
    fidelity_pack: Path | None = None,
    watch: str = "mail",
) -> int:
    """`drill demo`: the whole drill against the simulator; prints the verdict and where the evidence is."""
    from drill.evidence.bundle import writer_for
    from drill.fidelity import note_served, recording
    from drill.logs import configure_logging
    from drill.run.live import say_pack

    if account not in {"ea01", "ea02"}:
        raise DrillUserError(f"--account {account}: the demo accounts are ea01 and ea02")
    log_path = Path(tempfile.mkdtemp(prefix=LOG_PREFIX)) / "log.jsonl"
    configure_logging(log_path, console=False)
    typer.echo("starting the simulated tenant and registering two software keys ...", err=True)
    with demo_world(fault=fault, variants=variants, watch=watch) as world:
        if fault:
            typer.echo(f"fault applied: {fault}", err=True)
        for variant in variants:
            typer.echo(f"variant served: {variant}", err=True)
        ctx = build_context(world, account, headed=headed)
        with recording(fidelity_pack):
            note_served(served_forms(world))
            code = demo_drill(world, ctx, writer_for(output, log_path=log_path), output)
    say_pack(fidelity_pack)
    shutil.rmtree(log_path.parent, ignore_errors=True)
    return code


def served_forms(world: DemoWorld) -> dict[str, str]:
    """Every belief's form this simulated tenant serves (the chosen variants, else the defaults)."""
    from drill.sim.beliefs import all_beliefs, form

    return {belief_id: form(world.sim.state, belief_id) for belief_id in all_beliefs()}


def run_demo_audit(*, fault: str | None, output: Path, variants: Sequence[str] = ()) -> int:
    """`drill demo --audit`: the posture audit of the demo tenant (a `posture-*` fault breaks one control).

    BG.PROC.1 reads the PASS drills in `output`'s ledger, signed by this workstation's key: run
    `drill demo --account ea01` and `--account ea02` into the same folder first for a clean audit.
    """
    from drill.audit.run import default_readers
    from drill.auth import observer_credential
    from drill.evidence.pdf import render_pdf
    from drill.evidence.signing import Signer
    from drill.run.audit import execute_audit, say_where

    typer.echo("starting the simulated tenant and registering two software keys ...", err=True)
    with demo_world(fault=fault, variants=variants) as world:
        if fault:
            typer.echo(f"fault applied: {fault}", err=True)
        for variant in variants:
            typer.echo(f"variant served: {variant}", err=True)
        pb = world.playbook
        run = execute_audit(
            pb,
            default_readers(observer_credential(pb, world.cloud), world.cloud),
            output,
            Signer.load(),
            pdf=render_pdf,
        )
    say_where(run)
    return run.exit_code


def demo_drill(world: DemoWorld, ctx: Any, writer: Any, output: Path) -> int:
    """One demo drill in a running world, as `drill demo` runs it: the verdict, the summary, the scripted
    post-drill confirmations, then filing to the demo playbook's folder and the simulated SharePoint."""
    from drill.run.file_evidence import chain, filing_after_verdict
    from drill.run.loop import execute, summary_printer

    done = chain(
        summary_printer(writer),
        filing_after_verdict(
            writer,
            lambda: demo_filers(world, output),
            lambda bundle: f"drill file {bundle} (the demo SharePoint lives only while the demo runs)",
        ),
    )
    return execute(
        ctx,
        writer,
        operator_name="Demo Operator",
        witness="Demo Witness",
        on_done=done,
        confirm=lambda record: scripted_confirmations(record, world),
    )


DEMO_SEAL = "DEMO-SEAL-0001"


def scripted_confirmations(record: Any, world: DemoWorld) -> list[Any]:
    """The demo's operator answers: the software key is "returned and resealed", the "envelope" intact,
    and the card's version code is the one printed on the card in the demo state folder."""
    from drill.evidence.card import card_check
    from drill.evidence.controls import confirm

    account = record.account_name
    printed = card_in_storage(world.state_dir, account)

    def ask(question: str, _secret: bool) -> str:
        if "seal id" in question:
            answer = DEMO_SEAL
        elif "emergency card" in question:
            answer = printed or ""
        else:
            answer = "y"
        typer.echo(f"{question} {answer} (scripted)", err=True)
        return answer

    card = card_check(world.playbook, account, DEMO_PLAYBOOK)
    return confirm(ask, "Demo Operator", "the demo state folder", card)


def demo_filers(world: DemoWorld, output: Path) -> list[Any]:
    """The demo playbook's filing targets; a relative folder sits beside the `--output` folder."""
    from drill.evidence.filing import FolderFiler, filers_for

    out: list[Any] = []
    for filer in filers_for(world.playbook, world.cloud):
        if isinstance(filer, FolderFiler) and not filer.target.is_absolute():
            filer = FolderFiler(output.parent / filer.target)
        out.append(filer)
    return out


# -- `drill sim ...`: the simulator for rehearsals and alert-rule authors (commands/sim_cmds.py parses) ------
def sim_serve(
    tenant: Path, state_dir: Path, port: int, faults: list[str], variants: Sequence[str] = ()
) -> None:
    """Serve the simulated tenant on 127.0.0.1 until Ctrl-C, printing what a client needs to trust it."""
    import time

    from drill.sim.beliefs import apply_variant, parse_variant
    from drill.sim.faults import apply_fault
    from drill.sim.server import SimServer
    from drill.sim.tenant import TenantFixtureError

    try:
        server = SimServer(tenant, state_dir, port=port)
    except TenantFixtureError as exc:
        raise DrillUserError(str(exc)) from exc
    with server as sim:
        for name in faults:
            try:
                apply_fault(sim.state, name)
            except KeyError as exc:
                raise DrillUserError(str(exc.args[0])) from exc
        for text in variants:
            try:
                apply_variant(sim.state, *parse_variant(text))
            except KeyError as exc:
                raise DrillUserError(str(exc.args[0])) from exc
        typer.echo(f"simulated tenant {sim.state.tenant.id} at {sim.base_url}")
        typer.echo(f"trust this CA: {sim.ca_path}")
        typer.echo("chromium flags: " + " ".join(f"'{a}'" for a in sim.chromium_args))
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            typer.echo("stopped")


def sim_variants() -> list[tuple[str, str, list[str]]]:
    """(belief id, summary, forms with the default first) of every belief the simulator can vary."""
    from drill.sim.beliefs import all_beliefs

    return [(b.id, b.summary, list(b.forms)) for b in all_beliefs().values()]


def sim_faults() -> list[tuple[str, str, str]]:
    """(name, link, summary) of every named fault scenario."""
    from drill.sim.faults import all_faults

    return [(f.name, f.link, f.summary) for f in all_faults().values()]


def sim_query(tenant: Path, kql: str) -> tuple[list[str], list[list[Any]]]:
    """KQL over a tenant fixture's seed rows; ValueError with the engine's reason when it cannot run."""
    from drill.sim.loganalytics.workspace import run_query_on_fixture

    return run_query_on_fixture(tenant, kql)


# -- `drill sim compare-pack`: a fidelity pack against the simulator's shapes (drill/sim/compare.py) --
def compare_pack_report(pack: Path, against: Path | None) -> list[str]:
    """Every difference of shape between `pack` and the simulator, and what each declared belief makes of it.

    The reference is `against` (a pack a demo drill wrote) or, without it, a demo drill run now on the
    sped-up clock. Beliefs compare.py cannot read off a pack itself are judged against the simulator's
    own answers under each of their forms, turned into shapes by the same code that writes packs.
    """
    from drill.fidelity.recorder import load_pack
    from drill.sim import compare
    from drill.sim.beliefs import all_beliefs

    try:
        doc = load_pack(pack)
        reference = load_pack(against) if against is not None else None
    except ValueError as exc:
        raise DrillUserError(str(exc)) from None
    if reference is None:
        typer.echo("running a demo drill for the simulator's shapes (about a minute) ...", err=True)
        reference = demo_reference_pack()
    declared = {b.id: list(b.forms) for b in all_beliefs().values()}
    per_form = simulated_packs([b for b in declared if b not in compare.STATIC])
    return compare.report(compare.differences(doc, reference), compare.judge(doc, declared, per_form))


def demo_reference_pack(variants: Sequence[str] = ()) -> dict[str, Any]:
    """The pack a healthy demo drill writes (default forms unless `variants`), on a 10x simulator clock."""
    from drill.evidence.bundle import BundleWriter
    from drill.evidence.signing import Signer
    from drill.fidelity import note_served, recording
    from drill.fidelity.recorder import load_pack
    from drill.logs import configure_logging
    from drill.run.loop import execute

    with tempfile.TemporaryDirectory(prefix="drill-pack-") as tmp:
        base = Path(tmp)
        configure_logging(None, console=False)  # the drill's log is not this command's output
        with demo_world(base / "state", variants=variants) as world:
            world.sim.state.clock.set_scale(10.0)
            writer = BundleWriter(base / "reports", Signer.load(state_dir=base / "signing"), pdf=None)
            with recording(base / "pack"):
                note_served(served_forms(world))
                execute(build_context(world, "ea01", quiet=True), writer)
        return load_pack(base / "pack")


def simulated_packs(beliefs: Sequence[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """belief -> form -> the shapes of the simulator's mail and ARM answers under that form (the others at
    their defaults)."""
    from drill.fidelity.recorder import Recorder
    from drill.playbook import load_playbook
    from drill.sim.beliefs import all_beliefs
    from drill.sim.compare import simulated_documents

    skeleton = load_playbook(DEMO_PLAYBOOK, env={})
    account = str(skeleton.accounts[0].object_id)
    app, mailbox = str(skeleton.drill_app.client_id), str(skeleton.alert.mailbox)  # type: ignore[union-attr]
    known = all_beliefs()
    cache: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}

    def shapes(chosen: dict[str, str]) -> dict[str, Any]:
        # Only non-default choices name a distinct tenant: every belief's default form is one run.
        key = tuple(sorted((b, f) for b, f in chosen.items() if f != known[b].default))
        if key not in cache:
            with tempfile.TemporaryDirectory(prefix="drill-shapes-") as tmp:
                raw = simulated_documents(DEMO_TENANT, Path(tmp), dict(key), account, app, mailbox)
            rec = Recorder()
            for subject, body, content_type in raw["mail"]:
                rec.mail_seen(subject, body, content_type)
            for kind, items in raw["arm"].items():
                for item in items:
                    rec.arm_json(kind, item)
            cache[key] = rec.document()
        return cache[key]

    return {b: {f: shapes({b: f}) for f in known[b].forms} for b in beliefs if b in known}
